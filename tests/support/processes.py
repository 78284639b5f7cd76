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

from tests.support.paths import ROOT

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

    def __init__(self, data_dir: Path, log_path: Path, *extra: str, env: dict[str, str] | None = None,
                 port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(DUTYCHAT), "run", "--port", str(self.port), "--data-dir", str(data_dir), *extra],
            stdout=self._log, stderr=subprocess.STDOUT, env=env or clean_env(), cwd=ROOT,
        )

    async def wait_ready(self, timeout: float = 30) -> None:  # noqa: ASYNC109 - each caller sets the deadline of this polling loop
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


def free_port_range(count: int, attempts: int = 50) -> int:
    """A port P such that P .. P+count-1 are all free on loopback now."""
    for _ in range(attempts):
        base = free_port()
        if base + count > 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError(f"no {count} consecutive free ports found")


def child_pids(pid: int) -> list[int]:
    """The child process ids of pid (Linux: /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                found += [int(x) for x in fh.read().split()]
        except OSError:
            continue
    return found


def _port_of(pid: int) -> int | None:
    """The --port argument of a process's command line, if any."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = fh.read().decode(errors="replace").split("\0")
    except OSError:
        return None
    if "--port" in args and args.index("--port") + 1 < len(args):
        try:
            return int(args[args.index("--port") + 1])
        except ValueError:
            return None
    return None


def pid_alive(pid: int) -> bool:
    """Whether pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class WorkersProcess(ServerProcess):
    """`dutychat run --workers N`: a supervisor and N workers on ports port .. port+N-1."""

    def __init__(self, data_dir: Path, log_path: Path, workers: int = 2, *extra: str,
                 env: dict[str, str] | None = None):
        base = free_port_range(workers)
        self.ports = list(range(base, base + workers))
        self.urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self._seen: set[int] = set()
        super().__init__(data_dir, log_path, "--workers", str(workers), *extra, env=env, port=base)

    def worker_pids(self) -> dict[int, int]:
        """Port -> pid of each worker now running (as the supervisor's children)."""
        pids = {}
        for pid in child_pids(self.proc.pid):
            port = _port_of(pid)
            if port is not None and pid_alive(pid):
                pids[port] = pid
                self._seen.add(pid)
        return pids

    async def wait_worker(
        self, port: int, timeout: float = 30,  # noqa: ASYNC109 - each caller sets the deadline of this polling loop
        not_pid: int | None = None,
    ) -> int:
        """Wait until the worker on port answers /healthz (and is not not_pid); return its pid."""
        url = f"http://127.0.0.1:{port}/healthz"
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"supervisor exited early:\n{self.output()}")
                pid = self.worker_pids().get(port)
                if pid is not None and pid != not_pid:
                    try:
                        async with http.get(url) as r:
                            if r.status == 200:
                                return pid
                    except (TimeoutError, aiohttp.ClientError):
                        pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"worker on port {port} not ready in {timeout}s:\n{self.output()}")

    async def wait_ready(self, timeout: float = 30) -> None:  # noqa: ASYNC109 - each caller sets the deadline of this polling loop
        deadline = time.monotonic() + timeout
        for port in self.ports:
            await self.wait_worker(port, max(1.0, deadline - time.monotonic()))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.worker_pids()
        try:
            return super().stop(sig, timeout)
        finally:
            # Never leave a worker behind, even when the supervisor was killed.
            for pid in self._seen:
                if pid_alive(pid) and _port_of(pid) in self.ports:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
