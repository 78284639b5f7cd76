"""Run the real `dutychat` command in a subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
DUTYCHAT = Path(sys.executable).parent / "dutychat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYCHAT_")}
    env.update(extra)
    return env


def dutychat(*args: str, data_dir: Path, stdin: str | None = None, env: dict[str, str] | None = None,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(DUTYCHAT), *args, "--data-dir", str(data_dir)],
        input=stdin, capture_output=True, text=True, env=env or clean_env(), cwd=ROOT, timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dutychat {' '.join(args)} failed: {result.stderr}")
    return result


class ServerProcess:
    """`dutychat run` with its output captured to a file."""

    def __init__(self, data_dir: Path, log_path: Path, *extra: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(DUTYCHAT), "run", "--port", str(self.port), "--data-dir", str(data_dir), *extra],
            stdout=self._log, stderr=subprocess.STDOUT, env=env or clean_env(), cwd=ROOT,
        )

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"server exited early:\n{self.output()}")
                try:
                    async with http.get(f"{self.url}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout}s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop in time") from None
        self._log.close()
        return self.proc.returncode

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")
