"""`dutychat run` keeps its files private and raises its open-files limit, whatever it was started with."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import aiohttp

from tests.support.paths import ROOT
from tests.support.processes import DUTYCHAT, clean_env, free_port


def _start_like_a_careless_shell() -> None:
    # umask 022 and the 1,024-file default of a systemd unit without LimitNOFILE.
    os.umask(0o022)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))


async def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "server exited early"
            try:
                async with http.get(f"{url}/healthz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("server not ready")


def _spawn(data: Path, port: int, log: Path, **options: object) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(DUTYCHAT), "run", "--port", str(port), "--data-dir", str(data)],
            stdout=out, stderr=subprocess.STDOUT, env=clean_env(), cwd=ROOT, **options,  # type: ignore[call-overload]  # Popen's overloads cannot see **options
        )


def _soft_open_files(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open files line")


async def test_run_makes_private_files_and_raises_the_open_files_limit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    proc = _spawn(data, port, tmp_path / "server.log", preexec_fn=_start_like_a_careless_shell)
    try:
        await _wait_ready(f"http://127.0.0.1:{port}", proc)
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert _soft_open_files(proc.pid) == hard
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = [p for p in data.iterdir() if p.is_file()]
        assert any(p.name == "dutychat.db" for p in files)
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0


async def test_malformed_requests_are_answered_and_logged_once(tmp_path: Path) -> None:
    """Unparsable requests get 400; the log gets one line for all of them and no crash of the access logger."""
    data = tmp_path / "data"
    port = free_port()
    log_path = tmp_path / "server.log"
    proc = _spawn(data, port, log_path)
    bad = [
        b"GET /\x01canary-url HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GARBAGE-canary\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: canary\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    try:
        await _wait_ready(f"http://127.0.0.1:{port}", proc)
        for _ in range(10):
            for request in bad:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    conn.sendall(request)
                    assert conn.recv(64).startswith(b"HTTP/1.0 400")
        async with aiohttp.ClientSession() as http:
            # A refused origin: engine.io writes the Origin into its own message.
            url = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
            for _ in range(5):
                async with http.get(url, headers={"Origin": "http://canary.example"}) as reply:
                    assert reply.status == 400
            async with http.get(f"http://127.0.0.1:{port}/healthz") as reply:
                assert reply.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    output = log_path.read_text(errors="replace")
    assert "canary" not in output
    assert "Unhandled exception" not in output
    assert "AssertionError" not in output
    handling = [line for line in output.splitlines() if "aiohttp.server" in line]
    # Every line is the privacy formatter's JSON: no library printed past it.
    assert all(line.startswith("{") for line in output.splitlines() if line.strip())
    # Forty malformed requests from a handful of code locations: a handful of lines, not forty.
    assert 1 <= len(handling) <= 4, handling
