"""Run N worker processes of `dutychat run`, one port each, and keep them running.

The load balancer in front (see docs/deploy.md) spreads visitors and staff
over the ports; Redis carries the chat store and the socket.io fan-out.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("dutychat.workers")

RESTART_DELAY_SECONDS = 1.0


class Supervisor:
    """Start the workers, restart one that dies, pass SIGTERM and SIGINT on to all."""

    def __init__(self, child_args: list[list[str]], env: dict[str, str], stop_timeout: float) -> None:
        self._child_args = child_args
        self._env = env
        self._stop_timeout = stop_timeout
        self._children: list[subprocess.Popen[bytes] | None] = [None] * len(child_args)
        self._stopping = False

    def _start(self, index: int) -> None:
        self._children[index] = subprocess.Popen(self._child_args[index], env=self._env)
        log.info("worker started", extra={"count": index, "port": self._port(index)})

    def _port(self, index: int) -> int:
        args = self._child_args[index]
        return int(args[args.index("--port") + 1])

    def _stop(self, signum: int, _frame: object) -> None:
        self._stopping = True
        for child in self._children:
            if child is not None and child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for index in range(len(self._child_args)):
            self._start(index)
        while not self._stopping:
            time.sleep(0.2)
            for index, child in enumerate(self._children):
                if child is not None and child.poll() is not None and not self._stopping:
                    log.warning("worker exited; restarting", extra={"count": index, "status": child.returncode})
                    time.sleep(RESTART_DELAY_SECONDS)
                    if not self._stopping:
                        self._start(index)
        deadline = time.monotonic() + self._stop_timeout
        codes = []
        for child in self._children:
            if child is None:
                continue
            try:
                codes.append(child.wait(max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                child.kill()
                codes.append(child.wait())
        return 0 if all(code == 0 for code in codes) else 1


def child_arguments(
    workers: int, host: str, port: int, data_dir: Path, config: Path | None
) -> list[list[str]]:
    """The `dutychat run` command line of each worker: ports port .. port+workers-1."""
    base = [sys.executable, "-m", "chat_server.cli", "run", "--host", host, "--data-dir", str(data_dir)]
    if config is not None:
        base += ["--config", str(config)]
    return [base + ["--port", str(port + n)] for n in range(workers)]


def child_environment() -> dict[str, str]:
    """The workers' environment: the parent has migrated, so they do not."""
    env = dict(os.environ)
    env["DUTYCHAT_DATABASE__MIGRATE_ON_START"] = "false"
    return env
