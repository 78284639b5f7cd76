"""Sign-in hardening and one's own account: throttling, the argon2 pool, the password policy,
temporary passwords, changing one's password, sessions and the idle timeout, TOTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from sqlalchemy import select, text

from chat_server.accounts import Role, StaffRepository
from chat_server.db import Staff, create_engine, migrate, sessionmaker
from chat_server.keys import logins_key, password_work_key, sessions_key, staff_key
from chat_server.passwords import PasswordPolicy, PasswordWork
from chat_server.sealing import SealBroken, totp_owner, totp_sealer
from tests.support.clients import StaffMember
from tests.support.clients import login as socket_login
from tests.support.http import Http, Reply
from tests.support.live import PASSWORD, Live, start_live, stop_live
from tests.support.postgres import pg_database

NEW_PASSWORD = "plum tractor lantern quietly"


@pytest.fixture
async def memory_live(tmp_path: Path) -> AsyncIterator[Live]:
    """One server on SQLite (the throttle and pool do not depend on the database).

    The back-off starts at a minute: argon2 under load must not outlast it (the clock is real time plus
    the tests' offset).
    """
    server = await start_live(tmp_path, auth={"login_backoff_base_seconds": 60, "login_backoff_max_seconds": 3600})
    try:
        yield server
    finally:
        await stop_live(server)


async def login(http: Http, username: str, password: str = PASSWORD) -> Reply:
    return await http.call("POST", "/api/auth/login", {"username": username, "password": password})


# ---------------------------------------------------------------- throttling and the pool


async def test_wrong_passwords_back_off_per_user_name_with_retry_after(memory_live: Live) -> None:
    live = memory_live
    await live.add_staff("aino")
    async with Http(live) as http:
        free = live.settings.auth.login_free_attempts_per_user
        for _ in range(free + 1):
            assert (await login(http, "aino", "wrong password here")).code == "invalid_credentials"
        async with http.session.post(f"{live.url}/api/auth/login",
                                     json={"username": "aino", "password": PASSWORD}) as r:
            assert r.status == 429 and 59 <= int(r.headers["Retry-After"]) <= 60
            assert (await r.json())["error"]["code"] == "too_many_attempts"
        # Even the right password waits; after the wait it works, and the count starts afresh.
        live.clock.move(timedelta(seconds=61))
        assert (await login(http, "aino")).status == 200
        assert (await login(http, "aino", "wrong password here")).code == "invalid_credentials"
        # Another user name from the same address is not held back by aino's count.
        await live.add_staff("leo")
        assert (await login(http, "leo")).status == 200


async def test_the_back_off_doubles(memory_live: Live) -> None:
    live = memory_live
    async with Http(live) as http:
        for _ in range(live.settings.auth.login_free_attempts_per_user + 1):
            await login(http, "nobody", "wrong password here")
        waits = []
        for _ in range(3):
            r = await http.session.post(f"{live.url}/api/auth/login",
                                        json={"username": "nobody", "password": "x"})
            waits.append(int(r.headers["Retry-After"]))
            r.release()
            live.clock.move(timedelta(seconds=waits[-1] + 1))
            assert (await login(http, "nobody", "wrong password here")).code == "invalid_credentials"
        # Rounded up from what is left of 60, 120, 240 s.
        assert [round(w / 60) for w in waits] == [1, 2, 4]


async def test_a_login_flood_is_throttled_per_address(memory_live: Live) -> None:
    live = memory_live
    await live.add_staff("aino")
    async with Http(live) as http:
        replies = await asyncio.gather(
            *(login(http, f"guess{i}", "wrong password here") for i in range(60))
        )
        codes = [r.code for r in replies]
        # Each user name is new, so only the address count holds them: 20 free, one more, the rest wait.
        assert codes.count("invalid_credentials") <= live.settings.auth.login_free_attempts_per_address + 1
        assert codes.count("too_many_attempts") >= 60 - live.settings.auth.login_free_attempts_per_address - 1


async def test_a_full_password_pool_answers_retry_after_1(memory_live: Live) -> None:
    live = memory_live
    await live.add_staff("aino")
    app = live.app
    tight = PasswordWork(threads=1, max_waiting=0)
    real = app[password_work_key]
    staff = app[staff_key]
    staff._work = tight  # type: ignore[attr-defined]  # the repository's pool, made tiny for this test
    try:
        async with Http(live) as http:
            replies = await asyncio.gather(*(login(http, "aino") for _ in range(6)))
        busy = [r for r in replies if r.code == "too_many_attempts"]
        assert busy and any(r.status == 200 for r in replies)
    finally:
        staff._work = real  # type: ignore[attr-defined]  # put back
        tight.close()


# ---------------------------------------------------------------- password policy


@pytest.mark.parametrize("password", ["password12", "password1234", "Aino Example 2026", "short"])
async def test_weak_passwords_are_refused_everywhere(live: Live, password: str) -> None:
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    await live.add_staff("aino", shift=False)
    async with Http(live) as http:
        await http.login("boss")
        r = await http.call("POST", "/api/staff", {"username": "new", "alias": "Aino", "display_name":
                                                   "Aino Example", "password": password})
        assert r.status == 400 and r.code == "weak_password", r.text
        assert password not in r.text
        own = password.replace("Aino Example", "Real Name boss")  # the caller's own names
        r = await http.call("POST", "/api/account/password", {"current_password": PASSWORD, "new_password": own})
        assert r.code == "weak_password"
    assert await live.app[staff_key].by_username("new") is None


# ---------------------------------------------------------------- own password and temporary ones


async def test_change_own_password_ends_the_other_sessions(live: Live) -> None:
    await live.add_staff("aino", shift=False)
    async with Http(live) as first, Http(live) as second:
        await first.login("aino")
        await second.login("aino")
        r = await first.call("POST", "/api/account/password",
                             {"current_password": "not it at all", "new_password": NEW_PASSWORD})
        assert r.status == 403 and r.code == "wrong_password"
        r = await first.call("POST", "/api/account/password",
                             {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert r.status == 200 and r.body["state"] == "signed_in"
        assert (await first.get("/api/auth/me")).status == 200
        assert (await second.get("/api/auth/me")).code == "unauthenticated"
        assert (await login(second, "aino")).code == "invalid_credentials"
        assert (await login(second, "aino", NEW_PASSWORD)).status == 200
        r = await first.call("POST", "/api/account/password",
                             {"current_password": NEW_PASSWORD, "new_password": NEW_PASSWORD})
        assert r.code == "weak_password"


async def test_a_manager_issued_password_must_be_changed_and_expires(live: Live) -> None:
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    async with Http(live) as boss, Http(live) as newcomer:
        await boss.login("boss")
        added = await boss.call("POST", "/api/staff", {"username": "aino", "alias": "Aino"})
        assert added.status == 201
        issued = added.body["password"]
        r = await login(newcomer, "aino", issued)
        assert r.status == 200 and r.body["state"] == "password_change_required"
        # Only the password change (and me) answer that session.
        assert (await newcomer.get("/api/roster/mine")).code == "sign_in_incomplete"
        assert (await newcomer.get("/api/account/sessions")).code == "sign_in_incomplete"
        assert (await newcomer.get("/api/auth/me")).body["state"] == "password_change_required"
        r = await newcomer.call("POST", "/api/account/password",
                                {"current_password": issued, "new_password": NEW_PASSWORD})
        assert r.status == 200 and r.body["state"] == "signed_in"
        assert (await newcomer.get("/api/roster/mine")).status == 200
        # A reset password is temporary too, and stops working after auth.temporary_password_hours.
        reset = await boss.call("POST", f"/api/staff/{added.body['staff']['id']}/password")
        assert (await newcomer.get("/api/auth/me")).code == "unauthenticated"
        live.clock.move(timedelta(hours=live.settings.auth.temporary_password_hours, minutes=1))
        assert (await login(newcomer, "aino", reset.body["password"])).code == "invalid_credentials"


# ---------------------------------------------------------------- sessions and idle timeout


async def test_list_and_end_own_sessions(live: Live) -> None:
    await live.add_staff("aino", shift=False)
    await live.add_staff("leo", shift=False)
    async with Http(live) as first, Http(live) as second, Http(live) as leo:
        await first.login("aino")
        await second.login("aino")
        await leo.login("leo")
        sessions = (await first.get("/api/account/sessions")).body["sessions"]
        assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
        assert set(sessions[0]) == {"id", "current", "state", "created_at", "last_seen_at", "expires_at"}
        other = next(s["id"] for s in sessions if not s["current"])
        # Nobody ends another member's session.
        assert (await leo.call("DELETE", f"/api/account/sessions/{other}")).code == "not_found"
        assert (await first.call("DELETE", f"/api/account/sessions/{other}")).status == 200
        assert (await second.get("/api/auth/me")).code == "unauthenticated"
        assert len((await first.get("/api/account/sessions")).body["sessions"]) == 1


async def test_idle_sessions_end(live: Live) -> None:
    await live.add_staff("aino", shift=False)
    async with Http(live) as http:
        await http.login("aino")
        idle = timedelta(minutes=live.settings.auth.idle_minutes)
        live.clock.move(idle - timedelta(minutes=1))
        assert (await http.get("/api/auth/me")).status == 200
        live.clock.move(idle - timedelta(minutes=1))
        assert (await http.get("/api/auth/me")).status == 200
        live.clock.move(idle + timedelta(seconds=1))
        assert (await http.get("/api/auth/me")).code == "unauthenticated"


async def test_a_staff_member_who_only_chats_on_the_socket_is_not_idle(live: Live) -> None:
    """Socket events count as activity: at most one write a minute; an ended session stays ended."""
    account = await live.add_staff("aino")
    token = await socket_login(live.url, "aino", PASSWORD)
    aino = StaffMember(live.url, token)
    await aino.connect()
    live.clients.append(aino)
    cookie = {"Cookie": f"dutychat_session={token}"}
    logins = live.app[logins_key]

    async def last_seen() -> datetime:
        (session,) = await logins.of_staff(account.id, live.clock.now())
        return session.last_seen_at

    async def me() -> int:
        async with aiohttp.ClientSession() as http, http.get(live.url + "/api/auth/me", headers=cookie) as r:
            return r.status

    idle = timedelta(minutes=live.settings.auth.idle_minutes)
    for _ in range(3):
        # Three idle periods of chatting only on the socket: no HTTP request at all.
        live.clock.move(idle - timedelta(minutes=1))
        assert (await aino.call("staff:sync", {}))["ok"] is not False
        assert live.clock.now() - await last_seen() < timedelta(minutes=1)
    # Events within the minute write nothing more.
    written = await last_seen()
    live.clock.move(timedelta(seconds=20))
    await aino.call("staff:sync", {})
    live.clock.move(timedelta(seconds=20))
    await aino.call("staff:sync", {})
    assert await last_seen() == written
    live.clock.move(timedelta(seconds=30))
    await aino.call("staff:sync", {})
    assert await last_seen() >= written + timedelta(seconds=70)
    assert await me() == 200

    # Silence on both: the next request ends the session, and the socket's next event finds it ended.
    live.clock.move(idle + timedelta(minutes=1))
    assert await me() == 401
    ack = await aino.call("staff:sync", {})
    assert ack["error"]["code"] == "unauthenticated"


# ---------------------------------------------------------------- TOTP


@pytest.fixture
async def totp_live(tmp_path: Path) -> AsyncIterator[Live]:
    """A server that requires a second factor of managers and admins (the default)."""
    server = await start_live(tmp_path, auth={"totp_required_roles": ["manager", "admin"]})
    try:
        yield server
    finally:
        await stop_live(server)


def code(live: Live, secret: str, later: timedelta = timedelta(0)) -> str:
    return pyotp.TOTP(secret).at(live.clock.now() + later)


async def enrol(live: Live, http: Http) -> tuple[str, list[str]]:
    setup = await http.call("POST", "/api/account/totp")
    assert setup.status == 201, setup.text
    assert setup.body["qr_svg"].startswith("data:image/svg+xml")
    assert setup.body["otpauth_uri"].startswith("otpauth://totp/")
    secret = setup.body["secret"]
    assert (await http.call("POST", "/api/account/totp/confirm", {"code": "000000"})).code in (
        "invalid_code", None)
    done = await http.call("POST", "/api/account/totp/confirm", {"code": code(live, secret)})
    assert done.status == 200, done.text
    assert len(done.body["recovery_codes"]) == 10
    return secret, done.body["recovery_codes"]


async def test_a_manager_enrols_at_first_sign_in_then_needs_a_code(totp_live: Live) -> None:
    live = totp_live
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    async with Http(live) as http:
        r = await login(http, "boss")
        assert r.body["state"] == "totp_enrolment_required"
        assert (await http.get("/api/staff")).code == "sign_in_incomplete"
        secret, recovery = await enrol(live, http)
        assert (await http.get("/api/staff")).status == 200
        assert (await http.get("/api/account")).body["recovery_codes_left"] == 10
        assert (await http.call("POST", "/api/account/totp/disable", {"password": PASSWORD})).code == (
            "second_factor_required")
    async with Http(live) as http:
        r = await login(http, "boss")
        assert r.body["state"] == "totp_required"
        assert (await http.get("/api/staff")).code == "sign_in_incomplete"
        assert (await http.call("POST", "/api/auth/totp", {"code": "123"})).code == "invalid_code"
        live.clock.move(timedelta(seconds=30))
        r = await http.call("POST", "/api/auth/totp", {"code": code(live, secret)})
        assert r.status == 200 and r.body["state"] == "signed_in"
        assert (await http.get("/api/staff")).status == 200
    async with Http(live) as http:
        # The same code again is refused (one use per time step); a recovery code works once.
        await login(http, "boss")
        assert (await http.call("POST", "/api/auth/totp", {"code": code(live, secret)})).code == "invalid_code"
        assert (await http.call("POST", "/api/auth/totp", {"code": recovery[0]})).body["state"] == "signed_in"
    async with Http(live) as http:
        await login(http, "boss")
        assert (await http.call("POST", "/api/auth/totp", {"code": recovery[0]})).code == "invalid_code"


async def test_staff_may_enrol_and_disable_and_an_admin_resets(totp_live: Live) -> None:
    live = totp_live
    aino = await live.add_staff("aino", shift=False)
    await live.add_staff("root", role=Role.ADMIN, shift=False)
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    async with Http(live) as http:
        assert (await login(http, "aino")).body["state"] == "signed_in"
        secret, _ = await enrol(live, http)
        assert (await http.call("POST", "/api/account/totp")).code == "conflict"
        r = await http.call("POST", "/api/account/totp/disable", {"password": "not it at all"})
        assert r.code == "wrong_password"
    async with Http(live) as admin:
        assert (await login(admin, "root")).body["state"] == "totp_enrolment_required"
        await enrol(live, admin)
        async with Http(live) as boss:
            await login(boss, "boss")
            await enrol(live, boss)
            assert (await boss.call("POST", f"/api/staff/{aino.id}/totp/reset")).code == "forbidden"
        r = await admin.call("POST", f"/api/staff/{aino.id}/totp/reset")
        assert r.status == 200, r.text
    async with Http(live) as http:
        assert (await login(http, "aino")).body["state"] == "signed_in"
        account: Any = (await http.get("/api/account")).body
        assert account["totp_enabled"] is False and account["totp_required"] is False


# ---------------------------------------------------------------- TOTP secrets at rest


def stored_bytes(live: Live) -> bytes:
    """Every byte the SQLite database keeps on disk (the file and its write-ahead log)."""
    data = live.settings.server.data_dir
    return b"".join(p.read_bytes() for p in sorted(data.glob("dutychat.db*")))


async def test_the_database_holds_no_plain_totp_secret(totp_live: Live) -> None:
    live = totp_live
    await live.add_staff("boss", role=Role.MANAGER, shift=False)
    async with Http(live) as http:
        await login(http, "boss")
        setup = await http.call("POST", "/api/account/totp")
        pending = setup.body["secret"]
        async with live.app[sessions_key]() as session:
            row = await session.scalar(select(Staff).where(Staff.username == "boss"))
            assert row is not None and row.totp_pending_secret is not None
            assert pending not in row.totp_pending_secret
        assert pending.encode() not in stored_bytes(live)
        done = await http.call("POST", "/api/account/totp/confirm", {"code": code(live, pending)})
        assert done.status == 200, done.text
    async with live.app[sessions_key]() as session:
        row = await session.scalar(select(Staff).where(Staff.username == "boss"))
        assert row is not None and row.totp_secret is not None and row.totp_secret.startswith("v1.")
        sealed = row.totp_secret
        # Copied onto another account, the sealed value does not open there.
        assert totp_sealer(live.settings.secret).open(sealed, totp_owner(row.id)) == pending
        with pytest.raises(SealBroken):
            totp_sealer(live.settings.secret).open(sealed, totp_owner(row.id + 1))
        with pytest.raises(SealBroken):
            totp_sealer(b"another-secret-key-" + b"y" * 32).open(sealed, totp_owner(row.id))
    assert pending.encode() not in stored_bytes(live)
    # It still signs in with a code.
    async with Http(live) as http:
        await login(http, "boss")
        live.clock.move(timedelta(seconds=30))
        assert (await http.call("POST", "/api/auth/totp", {"code": code(live, pending)})).body["state"] == "signed_in"


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
async def test_the_migration_seals_the_secrets_already_stored(engine_name: str, tmp_path: Path) -> None:
    """0007 seals the plain secrets that 0006 stored, and a code made from them still works."""
    secret_key = b"migration-test-secret-" + b"z" * 32
    async with contextlib.AsyncExitStack() as stack:
        url = (await stack.enter_async_context(pg_database()) if engine_name == "postgresql"
               else f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        await migrate(engine, "0006")
        active, pending = pyotp.random_base32(), pyotp.random_base32()
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO staff (username, display_name, alias, password_hash, role, languages, max_chats, "
                "disabled, created_at, password_temporary, totp_secret, totp_pending_secret) VALUES "
                "('aino', 'Aino', 'Aino', 'x', 'staff', 'en', 3, false, :now, false, :a, NULL), "
                "('mia', 'Mia', 'Mia', 'x', 'staff', 'en', 3, false, :now, false, NULL, :p)"
            ), {"now": datetime(2026, 1, 1), "a": active, "p": pending})
        # Without the key the migration refuses rather than leave the secrets plain.
        with pytest.raises(RuntimeError, match="dutychat migrate"):
            await migrate(engine)
        await migrate(engine, secret=secret_key)
        async with engine.connect() as conn:
            rows = {r.username: r for r in await conn.execute(
                text("SELECT id, username, totp_secret, totp_pending_secret FROM staff"))}
        sealer = totp_sealer(secret_key)
        assert rows["aino"].totp_pending_secret is None and rows["mia"].totp_secret is None
        assert sealer.open(rows["aino"].totp_secret, totp_owner(rows["aino"].id)) == active
        assert sealer.open(rows["mia"].totp_pending_secret, totp_owner(rows["mia"].id)) == pending
        for row in rows.values():
            assert active not in str(tuple(row)) and pending not in str(tuple(row))
        # The repository checks a code against the sealed secret.
        staff = StaffRepository(sessionmaker(engine), PasswordWork(), PasswordPolicy(), sealer)
        now = datetime.now(UTC)
        assert await staff.totp_check(rows["aino"].id, pyotp.TOTP(active).at(now), now)
