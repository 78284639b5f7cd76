"""The `dutychat` command: run, migrate, staff, shift."""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from aiohttp import web

from chat_server.accounts import AccountError, Role, StaffRepository, generate_password
from chat_server.app import create_app
from chat_server.db import create_engine, migrate, sessionmaker
from chat_server.demo_safety_text import seed_demo_safety_text
from chat_server.keys import password_work_key, safety_texts_key, sessions_key, settings_key
from chat_server.lifecycle import StartupError, staff_repository
from chat_server.openfiles import raise_open_files_limit
from chat_server.passwords import PasswordWork
from chat_server.privacy import AccessLogger, configure_logging
from chat_server.realtime.broadcast import disconnect_staff_everywhere
from chat_server.settings import TOPICS_FILE, LoggingSettings, Settings, SettingsError, ensure_secret, load_settings
from chat_server.topics import load_taxonomy, sync_topics
from chat_server.workers import Supervisor, child_arguments, child_environment
from roster.repository import ShiftRepository

log = logging.getLogger("dutychat")

DEMO_STAFF = (
    ("demo-staff", "Aino", "Demo Staff", Role.STAFF),
    ("demo-staff2", "Leo", "Second Demo Staff", Role.STAFF),
    ("demo-manager", "Mika", "Demo Manager", Role.MANAGER),
)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"server": {}}
    if getattr(args, "host", None):
        overrides["server"]["host"] = args.host
    if getattr(args, "port", None):
        overrides["server"]["port"] = args.port
    if getattr(args, "data_dir", None):
        overrides["server"]["data_dir"] = args.data_dir
    settings = load_settings(args.config, overrides)
    settings.server.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return ensure_secret(settings)


async def _with_db(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine, secret=settings.secret)
        return await work(sessionmaker(engine))
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- run


async def _demo_setup(app: web.Application, banner: list[str]) -> None:
    """Create demo accounts with fresh passwords and a shift covering now; put what to print in banner."""
    settings = app[settings_key]
    staff = staff_repository(app[sessions_key], app[password_work_key], settings.auth, settings.secret)
    shifts = ShiftRepository(app[sessions_key])
    now = datetime.now(UTC)
    lines = []
    for username, alias, name, role in DEMO_STAFF:
        # Set by the operator (this command), not issued by a manager: not temporary.
        password = generate_password(settings.auth.min_password_length)
        account = await staff.by_username(username)
        if account is None:
            account = await staff.add(
                username, password, display_name=name, alias=alias, role=role,
                languages=settings.chat.languages, max_chats=settings.chat.default_max_chats, now=now,
            )
        else:
            await staff.reset_password(username, password, temporary=False, now=now)
            await staff.set_disabled(username, False)
        covering = await shifts.of_staff(account.id, now, now + timedelta(seconds=1))
        if not covering:
            await shifts.add(account.id, now - timedelta(minutes=5), now + timedelta(hours=8), "demo shift")
        lines.append(f"    {username:<14} password {password:<22} ({role.value}, alias shown to visitors: {alias})")
        if role.value in settings.auth.totp_required_roles:
            # The role needs a second factor: enrol one now, as the account page would, and say how to get codes.
            await staff.totp_disable(account.id)
            secret = await staff.totp_begin(account.id)
            await staff.totp_confirm(account.id, pyotp.TOTP(secret).now(), now)
            lines.append(f"    {'':<14} second factor (TOTP) secret {secret}: add it to an authenticator app, or")
            lines.append(f"    {'':<14} get a code with: {sys.executable} -c \"import pyotp; "
                         f"print(pyotp.TOTP('{secret}').now())\"")
    await seed_demo_safety_text(
        app[safety_texts_key], settings.chat.languages, settings.link_hosts, settings.organisation.website, now
    )
    base = f"http://{settings.server.host}:{settings.server.port}"
    banner.append(
        "\n".join(
            [
                "",
                "dutychat demo is running (SQLite, in-memory chat store, one process).",
                f"  Visitor demo page: {base}/demo/",
                f"  Staff console:     {base}/console/",
                f"  Managers:          {base}/roster/  {base}/reports/  {base}/staff/  {base}/safety/",
                "  Demo accounts (passwords and second factors are new at every start):",
                *lines,
                "  Every demo account has a shift covering the next 8 hours: log in, check in, then",
                "  open the demo page in another window and start a chat.",
                "  The request log is off in the demo, so this stays on screen. Stop it with Ctrl+C.",
                "",
            ]
        )
    )


async def _freeze_start_up_heap(_app: web.Application) -> None:
    """Keep what start-up made (imports, SQLAlchemy, Alembic, settings) out of every later collection."""
    # A full (generation 2) collection walks every tracked object: the ~10^5 made at start-up cost
    # 100 ms and more per collection on a busy two-core machine, seen as latency spikes of every
    # chat (docs/performance.md). They live as long as the process, so freeze them once.
    gc.collect()
    gc.freeze()


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    open_files = raise_open_files_limit()
    if args.workers > 1:
        return _run_workers(args, settings)
    if args.demo:
        # The demo's printed URLs must work from this machine.
        # No request log: one line per page load and socket poll would scroll the accounts away.
        settings = settings.replace(
            server={"public_url": f"http://{settings.server.host}:{settings.server.port}"},
            logging={"access_log": False},
        )
    configure_logging(settings.logging)
    app = create_app(settings)
    banner: list[str] = []
    if args.demo:
        app.on_startup.append(functools.partial(_demo_setup, banner=banner))
    # After every cleanup context has started (aiohttp runs them first).
    app.on_startup.append(_freeze_start_up_heap)
    log.info("starting", extra={"host": settings.server.host, "port": settings.server.port})
    log.info("open files limit", extra={"count": open_files})

    def started(*_lines: object) -> None:
        # run_app calls this once the server listens, after every start-up line: the demo's
        # accounts and addresses come last and stay on screen (no request was logged yet).
        log.info("listening", extra={"host": settings.server.host, "port": settings.server.port})
        if banner:
            print(*banner, sep="\n", flush=True)

    web.run_app(
        app,
        host=settings.server.host,
        port=settings.server.port,
        access_log=logging.getLogger("dutychat.access") if settings.logging.access_log else None,
        access_log_class=AccessLogger,
        shutdown_timeout=settings.server.shutdown_timeout_seconds,
        print=started,
        handle_signals=True,
    )
    return 0


def _run_workers(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate once, then run args.workers processes on consecutive ports."""
    if settings.chat.store != "redis":
        raise SettingsError("--workers above 1 needs chat.store = 'redis' (DUTYCHAT_CHAT__STORE) and chat.redis_url")
    if args.demo:
        raise SettingsError("--demo runs one process; leave out --workers")
    configure_logging(settings.logging)

    async def prepare(sessions: Any) -> int:
        # The topics too, once, before the workers start (they would race to insert them).
        await sync_topics(sessions, load_taxonomy(TOPICS_FILE, settings.chat.languages))
        return 0

    asyncio.run(_with_db(settings, prepare))
    children = child_arguments(
        args.workers, settings.server.host, settings.server.port, settings.server.data_dir, args.config
    )
    supervisor = Supervisor(children, child_environment(), settings.server.shutdown_timeout_seconds + 5)
    return supervisor.run()


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def done(_sessions: Any) -> int:
        print("database is up to date")
        return 0

    return asyncio.run(_with_db(settings, done))


# ---------------------------------------------------------------- staff


def _read_password(args: argparse.Namespace, settings: Settings) -> tuple[str, bool]:
    """Return (password, generated)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise AccountError("the passwords differ")
        return first, False
    return generate_password(settings.auth.min_password_length), True


def cmd_staff(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work(sessions: Any) -> int:
        pool = PasswordWork()
        try:
            return await staff_command(settings, staff_repository(sessions, pool, settings.auth, settings.secret), args)
        finally:
            pool.close()

    return asyncio.run(_with_db(settings, work))


async def staff_command(settings: Settings, repo: StaffRepository, args: argparse.Namespace) -> int:
    """A `staff` subcommand. A generated password is temporary (changed at first sign-in); a typed one is not."""
    now = datetime.now(UTC)
    if args.staff_command == "add":
        password, generated = _read_password(args, settings)
        account = await repo.add(
            args.username,
            password,
            display_name=args.name or args.username,
            alias=args.alias,
            role=Role(args.role),
            languages=tuple(x for x in args.languages.split(",") if x),
            max_chats=args.max_chats or settings.chat.default_max_chats,
            temporary=generated,
            now=now,
        )
        print(f"added {account.username} ({account.role.value}, alias {account.alias})")
        if generated:
            print(f"password: {password}")
            print("(temporary: it must be changed at the first sign-in)")
    elif args.staff_command == "list":
        for a in await repo.list():
            state = "disabled" if a.disabled else "active"
            print(f"{a.username:<20} {a.role.value:<8} {state:<8} alias={a.alias} max_chats={a.max_chats} "
                  f"languages={','.join(a.languages)}")
    elif args.staff_command in ("disable", "enable"):
        account = await repo.set_disabled(args.username, args.staff_command == "disable")
        if account.disabled:
            await disconnect_staff_everywhere(settings, account.id)
        print(f"{account.username} is {'disabled' if account.disabled else 'enabled'}")
    elif args.staff_command == "reset-password":
        password, generated = _read_password(args, settings)
        account = await repo.reset_password(args.username, password, temporary=generated, now=now)
        await disconnect_staff_everywhere(settings, account.id)
        print(f"password of {args.username} reset; its sessions and calendar feeds are revoked")
        if generated:
            print(f"password: {password}")
            print("(temporary: it must be changed at the first sign-in)")
    elif args.staff_command == "reset-totp":
        found = await repo.by_username(args.username)
        if found is None:
            raise AccountError(f"no staff member {args.username!r}")
        await repo.totp_disable(found.id)
        # Like a password reset: whoever held the old factor is signed out.
        await repo.reset_sessions(found.id)
        await disconnect_staff_everywhere(settings, found.id)
        print(f"second factor of {found.username} removed; its sessions are logged out")
    return 0


def cmd_shift(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def work(sessions: Any) -> int:
        pool = PasswordWork()
        try:
            staff = await staff_repository(sessions, pool, settings.auth, settings.secret).by_username(args.username)
        finally:
            pool.close()
        if staff is None:
            raise AccountError(f"no staff member {args.username!r}")
        start = _instant(args.start, settings)
        end = _instant(args.end, settings)
        shift = await ShiftRepository(sessions).add(staff.id, start, end, args.note)
        print(f"shift {shift.shift_id}: {staff.username} {shift.starts_at.isoformat()} - {shift.ends_at.isoformat()}")
        return 0

    return asyncio.run(_with_db(settings, work))


def _instant(value: str, settings: Settings) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AccountError(f"{value!r} is not a date and time like 2026-12-01T12:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=settings.organisation.zone)
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dutychat", description="Anonymous outreach chat with duty rosters.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="settings file (TOML) over config/default.toml")
    common.add_argument("--data-dir", type=Path, help="folder for the SQLite database and secret key (./var)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="serve chats")
    run.add_argument("--host", help="address to listen on (127.0.0.1)")
    run.add_argument("--port", type=int, help="port to listen on (8080)")
    run.add_argument("--demo", action="store_true", help="create demo accounts and a shift, print them")
    run.add_argument("--workers", type=int, default=1, choices=range(1, 65), metavar="N",
                     help="run N worker processes on ports PORT..PORT+N-1 (needs the Redis chat store)")
    run.set_defaults(func=cmd_run)

    mig = sub.add_parser("migrate", parents=[common], help="apply database migrations")
    mig.set_defaults(func=cmd_migrate)

    staff = sub.add_parser("staff", help="manage staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", parents=[common], help="add a staff account")
    add.add_argument("username")
    add.add_argument("--alias", required=True, help="the only name visitors see")
    add.add_argument("--name", help="real name, shown to colleagues only")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.STAFF.value)
    add.add_argument("--languages", default="", help="comma-separated language codes, e.g. fi,en")
    add.add_argument("--max-chats", type=int, help="concurrent chats (default from settings)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    staff_sub.add_parser("list", parents=[common], help="list staff accounts")
    for name in ("disable", "enable"):
        p = staff_sub.add_parser(name, parents=[common], help=f"{name} an account")
        p.add_argument("username")
    reset = staff_sub.add_parser("reset-password", parents=[common], help="set a new password")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    totp = staff_sub.add_parser("reset-totp", parents=[common], help="remove an account's second factor (lost phone)")
    totp.add_argument("username")
    staff.set_defaults(func=cmd_staff)

    shift = sub.add_parser("shift", help="manage duty shifts")
    shift_sub = shift.add_subparsers(dest="shift_command", required=True)
    sadd = shift_sub.add_parser("add", parents=[common], help="add a shift (local times in the organisation's zone)")
    sadd.add_argument("username")
    sadd.add_argument("--start", required=True, help="e.g. 2026-12-01T12:00")
    sadd.add_argument("--end", required=True, help="e.g. 2026-12-01T16:00")
    sadd.add_argument("--note", default="")
    shift.set_defaults(func=cmd_shift)
    return parser


def main(argv: list[str] | None = None) -> int:
    # The data directory, database and secret are the service's alone, whatever
    # umask the shell that started it had.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"dutychat: {exc}", file=sys.stderr)
        return 2
    except AccountError as exc:
        print(f"dutychat: {exc}", file=sys.stderr)
        return 1
    except StartupError as exc:
        print(f"dutychat: cannot start: {exc}", file=sys.stderr)
        return 2
    except Exception:
        # Anything else (a worker restarted while the database is down, say) goes through the
        # privacy formatter: the type and code location, never a raw traceback with values.
        if not logging.getLogger().handlers:
            configure_logging(LoggingSettings())
        log.exception("dutychat stopped by an unexpected error")
        return 1


if __name__ == "__main__":
    sys.exit(main())
