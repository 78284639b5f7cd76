"""The `dutychat` command line: settings, accounts, shifts, run and shut down."""

from __future__ import annotations

import signal
import stat
import time
from pathlib import Path

import aiohttp
import pyotp

from tests.support.processes import ServerProcess, clean_env, dutychat


def test_staff_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = dutychat("staff", "add", "aino", "--alias", "Aino", "--name", "Aino Example", "--role", "manager",
                   "--languages", "fi,en", "--password-stdin", data_dir=data, stdin="a long enough password\n")
    assert "added aino (manager, alias Aino)" in out.stdout
    listed = dutychat("staff", "list", data_dir=data).stdout
    assert "aino" in listed and "manager" in listed and "active" in listed and "languages=fi,en" in listed
    dup = dutychat("staff", "add", "aino", "--alias", "X", "--password-stdin", data_dir=data,
                   stdin="another long password\n", check=False)
    assert dup.returncode == 1 and "taken" in dup.stderr
    short = dutychat("staff", "add", "leo", "--alias", "Leo", "--password-stdin", data_dir=data,
                     stdin="short\n", check=False)
    assert short.returncode == 1 and "at least" in short.stderr
    # Without a terminal and without --password-stdin, a password is generated and shown once.
    generated = dutychat("staff", "add", "leo", "--alias", "Leo", data_dir=data, stdin="")
    assert "password: " in generated.stdout
    assert "disabled" in dutychat("staff", "disable", "leo", data_dir=data).stdout
    assert "disabled" in dutychat("staff", "list", data_dir=data).stdout
    assert "enabled" in dutychat("staff", "enable", "leo", data_dir=data).stdout
    reset = dutychat("staff", "reset-password", "leo", "--password-stdin", data_dir=data, stdin="a new long password\n")
    assert "reset" in reset.stdout
    missing = dutychat("staff", "disable", "nobody", data_dir=data, check=False)
    assert missing.returncode == 1 and "no staff member" in missing.stderr
    shift = dutychat("shift", "add", "aino", "--start", "2026-12-01T12:00", "--end", "2026-12-01T16:00", data_dir=data)
    # Local Helsinki noon is 10:00 UTC in winter.
    assert "2026-12-01T10:00:00+00:00" in shift.stdout
    # The secret key is generated once, private to its owner.
    secret = data / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_staff_commands_apply_the_password_policy_and_generated_ones_are_temporary(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    common = dutychat("staff", "add", "aino", "--alias", "Aino", "--password-stdin", data_dir=data,
                      stdin="password1234\n", check=False)
    assert common.returncode == 1 and "too easy to guess" in common.stderr and "password1234" not in common.stderr
    named = dutychat("staff", "add", "aino", "--alias", "Aino", "--name", "Aino Example", "--password-stdin",
                     data_dir=data, stdin="Aino Example 2026\n", check=False)
    assert named.returncode == 1 and "too easy to guess" in named.stderr
    typed = dutychat("staff", "add", "aino", "--alias", "Aino", "--password-stdin", data_dir=data,
                     stdin="a long enough password\n")
    assert "temporary" not in typed.stdout
    generated = dutychat("staff", "add", "leo", "--alias", "Leo", data_dir=data, stdin="")
    assert "temporary" in generated.stdout
    weak_reset = dutychat("staff", "reset-password", "aino", "--password-stdin", data_dir=data,
                          stdin="qwertyuiop12\n", check=False)
    assert weak_reset.returncode == 1
    dutychat("staff", "reset-password", "aino", data_dir=data, stdin="")
    assert "second factor of aino removed" in dutychat("staff", "reset-totp", "aino", data_dir=data).stdout
    assert dutychat("staff", "reset-totp", "nobody", data_dir=data, check=False).returncode == 1
    with sqlite3.connect(data / "dutychat.db") as db:
        flags = dict(db.execute("select username, password_temporary from staff").fetchall())
    assert flags == {"aino": 1, "leo": 1}


def test_password_hashes_are_argon2id(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    dutychat(
        "staff", "add", "aino", "--alias", "Aino", "--password-stdin", data_dir=data, stdin="a long enough password\n"
    )
    with sqlite3.connect(data / "dutychat.db") as db:
        (hashed,) = db.execute("select password_hash from staff").fetchone()
    assert hashed.startswith("$argon2id$")


def test_bad_setting_stops_start_up_naming_it(tmp_path: Path) -> None:
    env = clean_env(DUTYCHAT_CHAT__VISITOR_GRACE_SECONDS="soon")
    result = dutychat("migrate", data_dir=tmp_path, env=env, check=False)
    assert result.returncode == 2
    assert "chat.visitor_grace_seconds" in result.stderr and "DUTYCHAT_CHAT__VISITOR_GRACE_SECONDS" in result.stderr
    config = tmp_path / "bad.toml"
    config.write_text('[organisation]\ntimezone = "Mars/Olympus"\n')
    result = dutychat("migrate", "--config", str(config), data_dir=tmp_path, check=False)
    assert result.returncode == 2 and "organisation.timezone" in result.stderr
    config.write_text("[chat]\nno_such_setting = 1\n")
    result = dutychat("migrate", "--config", str(config), data_dir=tmp_path, check=False)
    assert result.returncode == 2 and "chat.no_such_setting" in result.stderr


def test_config_file_and_environment_override(tmp_path: Path) -> None:
    from chat_server.settings import load_settings

    config = tmp_path / "mine.toml"
    config.write_text("[chat]\nmax_message_length = 500\nlanguages = [\"fi\", \"en\"]\n")
    settings = load_settings(config, use_env=False)
    assert settings.chat.max_message_length == 500 and settings.chat.languages == ("fi", "en")
    assert settings.chat.visitor_grace_seconds == 120  # untouched keys keep their defaults
    import os

    os.environ["DUTYCHAT_CHAT__MAX_MESSAGE_LENGTH"] = "300"
    try:
        assert load_settings(config).chat.max_message_length == 300
    finally:
        del os.environ["DUTYCHAT_CHAT__MAX_MESSAGE_LENGTH"]


async def test_run_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/status") as r:
                assert r.status == 200
                assert (await r.json())["open"] is False
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.output()
    assert "demo" not in server.output().lower()


async def test_run_demo_prints_accounts_and_opens_chat(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--demo")
    try:
        await server.wait_ready()
        output = server.output()
        assert "demo-staff" in output and "/console/" in output and "/demo/" in output
        password = output.split("demo-staff", 1)[1].split("password", 1)[1].split()[0]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/status") as r:
                # The demo shift covers now; nobody has checked in yet.
                assert (await r.json())["availability"] == "unstaffed"
            # The example safety text, in every language, its phone numbers as links.
            async with http.get(f"{server.url}/api/safety-text") as r:
                texts = (await r.json())["texts"]
            assert sorted(texts) == sorted(["fi", "sv", "en", "ru", "th", "es", "et"])
            assert all(
                [s["href"] for s in t["segments"] if s["kind"] == "phone"] == ["tel:112", "tel:+358401234567"]
                for t in texts.values()
            )
            async with http.post(f"{server.url}/api/auth/login",
                                 json={"username": "demo-staff", "password": password}) as r:
                assert r.status == 200 and (await r.json())["state"] == "signed_in"
        # The demo manager's role needs a second factor: the output gives its secret.
        manager = output.split("demo-manager", 1)[1]
        password = manager.split("password", 1)[1].split()[0]
        secret = manager.split("secret", 1)[1].split()[0].rstrip(":")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{server.url}/api/auth/login",
                                 json={"username": "demo-manager", "password": password}) as r:
                step = await r.json()
                assert step["state"] == "totp_required"
            # The enrolment used this 30 s step's code; the next step's is accepted (clock drift).
            code = pyotp.TOTP(secret).at(time.time() + 30)
            headers = {"X-CSRF-Token": step["csrf_token"]}
            async with http.post(f"{server.url}/api/auth/totp", json={"code": code}, headers=headers) as r:
                assert (await r.json())["state"] == "signed_in", await r.text()
    finally:
        code = server.stop(signal.SIGINT)
    assert code == 0, server.output()


def test_the_command_line_keeps_the_last_enabled_admin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    dutychat("staff", "add", "root", "--alias", "Root", "--role", "admin", data_dir=data, stdin="")
    refused = dutychat("staff", "disable", "root", data_dir=data, check=False)
    assert refused.returncode == 1 and "last enabled admin" in refused.stderr
    assert "active" in dutychat("staff", "list", data_dir=data).stdout


def test_a_worker_started_while_the_database_is_down_logs_no_raw_traceback(tmp_path: Path) -> None:
    # What a supervisor's restarted worker meets during a PostgreSQL outage.
    env = clean_env(DUTYCHAT_DATABASE__URL="postgresql+asyncpg://dutychat@127.0.0.1:1/none",
                    DUTYCHAT_DATABASE__MIGRATE_ON_START="false")
    result = dutychat("run", "--port", "1", data_dir=tmp_path, env=env, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr, result.stderr
    # The privacy formatter's line: the type and code location, no message.
    assert "dutychat stopped by an unexpected error" in result.stderr and "ConnectionRefusedError at " in result.stderr


async def test_run_demo_on_a_terminal_logs_text_and_prints_the_accounts_last(tmp_path: Path) -> None:
    # `make run` in a terminal: readable start-up lines, then the demo's accounts and addresses, last.
    import asyncio
    import os
    import pty
    import subprocess

    from tests.support.paths import ROOT
    from tests.support.processes import DUTYCHAT, free_port

    port = free_port()
    controller, terminal = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        str(DUTYCHAT), "run", "--demo", "--port", str(port), "--data-dir", str(tmp_path / "data"),
        stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=clean_env(), cwd=ROOT,
    )
    os.close(terminal)
    output = b""
    try:
        deadline = time.monotonic() + 60
        while b"Stop it with Ctrl+C." not in output and time.monotonic() < deadline:
            try:
                chunk = await asyncio.to_thread(os.read, controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        text = output.decode("utf-8", "replace").replace("\r\n", "\n")
        assert "Stop it with Ctrl+C." in text, text
        before, banner = text.split("dutychat demo is running", 1)
        # Start-up lines are text on a terminal (JSON goes to services), and all came before the banner.
        start_up = [line for line in before.splitlines() if line.strip()]
        assert start_up and not any(line.lstrip().startswith("{") for line in start_up), start_up
        assert start_up[-1].endswith(f"INFO dutychat: listening [host=127.0.0.1 port={port}]"), start_up
        assert "demo-staff" in banner and f"http://127.0.0.1:{port}/console/" in banner
        assert banner.rstrip().endswith("Stop it with Ctrl+C."), banner
        # A newcomer opens the pages: no request line pushes the accounts off the screen.
        import aiohttp

        async with aiohttp.ClientSession() as http:
            for path in ("/demo/", "/console/", "/widget/", "/api/status", "/healthz"):
                async with http.get(f"http://127.0.0.1:{port}{path}") as reply:
                    assert reply.status == 200, path
        os.set_blocking(controller, False)
        await asyncio.sleep(1)
        try:
            later = os.read(controller, 65536).decode("utf-8", "replace")
        except BlockingIOError:
            later = ""
        assert later.strip() == "", later
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
        os.close(controller)
