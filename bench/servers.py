"""Processes under test: dutychat, the baseline relay, redis-server, the balancer.

Also what the harness reads about them from /proc: CPU time and resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import child_pids, free_port, free_port_range

ROOT = Path(__file__).resolve().parent.parent
PROBE_SITE = ROOT / "bench" / "probe_site"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench password, not secret"
PR_SET_PDEATHSIG = 1


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class CpuMeter:
    """CPU use of named groups of processes between start() and stop()."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self._start: dict[str, float] = {}
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._start = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}

    def stop(self) -> dict[str, float]:
        """CPU per group in percent of one core (200 = two cores busy)."""
        wall = max(1e-6, time.monotonic() - self._t0)
        return {
            name: round(100 * (sum(cpu_seconds(p) for p in pids) - self._start[name]) / wall, 1)
            for name, pids in self.groups.items()
        }


async def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:  # noqa: ASYNC109 - each caller sets the deadline of this polling loop
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: process exited with {proc.returncode}")
            try:
                async with http.get(f"{url}/healthz") as r:
                    if r.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready in {timeout}s")


def probe_env(probe_dir: Path, gc_mode: str | None = None) -> dict[str, str]:
    env = {"PYTHONPATH": str(PROBE_SITE), "DUTYCHAT_BENCH_PROBE_DIR": str(probe_dir)}
    if gc_mode:
        env["DUTYCHAT_BENCH_GC"] = gc_mode
    return env


class Managed:
    """A started process group: its log, its server pids, stop()."""

    name = "process"

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, url: str) -> None:
        self.proc = proc
        self.log = log
        self.url = url

    def server_pids(self) -> list[int]:
        return [self.proc.pid]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the harness dies, so no server outlives a run."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _popen(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                preexec_fn=_die_with_parent)


def _base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYCHAT_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


# ------------------------------------------------------------------ dutychat


def dutychat_env(data_dir: Path, redis_url: str | None, probe: dict[str, str]) -> dict[str, str]:
    extra = {
        # Benchmarks send far faster than a person: lift the per-socket rate limit.
        "DUTYCHAT_LIMITS__EVENTS_PER_SECOND": "1000000",
        "DUTYCHAT_LIMITS__EVENT_BURST": "1000000",
        # Every benchmark visitor comes from this one machine: lift the per-address flood limits.
        "DUTYCHAT_LIMITS__SOCKETS_PER_ADDRESS": "1000000",
        "DUTYCHAT_LIMITS__LIVE_CHATS_PER_ADDRESS": "1000000",
        "DUTYCHAT_LIMITS__CHAT_STARTS_PER_ADDRESS": "1000000",
        "DUTYCHAT_LIMITS__MAX_QUEUE_LENGTH": "1000000",
        # The cost curves hold up to 10,000 idle connections on one worker (default cap 4,000).
        "DUTYCHAT_LIMITS__MAX_CONNECTIONS_PER_WORKER": "1000000",
        "DUTYCHAT_LOGGING__LEVEL": "WARNING",
        "DUTYCHAT_LOGGING__ACCESS_LOG": "false",
        "DUTYCHAT_SERVER__SHUTDOWN_TIMEOUT_SECONDS": "3",
        **probe,
    }
    if redis_url:
        extra["DUTYCHAT_CHAT__STORE"] = "redis"
        extra["DUTYCHAT_CHAT__REDIS_URL"] = redis_url
    return _base_env(extra)


class Dutychat(Managed):
    name = "dutychat"

    def __init__(self, data_dir: Path, log: Path, workers: int, redis_url: str | None, probe: dict[str, str]) -> None:
        self.workers = workers
        port = free_port_range(workers) if workers > 1 else free_port()
        self.ports = list(range(port, port + workers))
        dutychat = Path(sys.executable).parent / "dutychat"
        args = [str(dutychat), "run", "--port", str(port), "--data-dir", str(data_dir)]
        if workers > 1:
            args += ["--workers", str(workers)]
        proc = _popen(args, log, dutychat_env(data_dir, redis_url, probe))
        super().__init__(proc, log, f"http://127.0.0.1:{port}")

    def server_pids(self) -> list[int]:
        if self.workers == 1:
            return [self.proc.pid]
        return child_pids(self.proc.pid)

    async def ready(self) -> None:
        for port in self.ports:
            await wait_http(f"http://127.0.0.1:{port}", self.proc)
        if self.workers > 1:
            deadline = time.monotonic() + 10
            # Worker processes appear in /proc; nothing signals them.
            while len(self.server_pids()) < self.workers and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)


async def prepare_dutychat(data_dir: Path, groups: dict[str, tuple[int, int]]) -> dict[str, list[str]]:
    """Staff accounts with shifts covering now and login sessions, straight into the database.

    groups: name -> (how many, max_chats). Returns name -> session tokens (the cookie values).
    """
    from chat_server.accounts import LoginSessions, StaffRepository
    from chat_server.db import create_engine, migrate, sessionmaker
    from chat_server.passwords import PasswordPolicy, PasswordWork
    from chat_server.sealing import totp_sealer
    from chat_server.settings import ensure_secret, load_settings
    from roster.repository import ShiftRepository

    settings = ensure_secret(load_settings(None, {"server": {"data_dir": data_dir}}, use_env=False))
    engine = create_engine(settings.database_url)
    tokens: dict[str, list[str]] = {}
    work = PasswordWork()
    try:
        await migrate(engine, secret=settings.secret)
        sessions = sessionmaker(engine)
        staff = StaffRepository(sessions, work, PasswordPolicy(), totp_sealer(settings.secret))
        shifts = ShiftRepository(sessions)
        logins = LoginSessions(sessions, settings.secret, timedelta(hours=12))
        now = datetime.now(UTC)
        # Nobody logs in with the password (sessions are made here): hash it once, not per account.
        hashed = await work.hash(PASSWORD)

        async def hash_once(_password: str, _context: tuple[str, ...]) -> str:
            return hashed

        staff._hash_new = hash_once  # type: ignore[method-assign]  # the bench's shortcut, see above
        for group, (count, max_chats) in groups.items():
            tokens[group] = []
            for i in range(1, count + 1):
                account = await staff.add(
                    f"{group}{i:02d}", PASSWORD, display_name=f"{group} {i}", alias=f"{group.title()} {i}",
                    languages=("en",), max_chats=max_chats, now=now,
                )
                await shifts.add(account.id, now - timedelta(hours=1), now + timedelta(hours=12), "bench")
                tokens[group].append(await logins.create(account.id, now))
    finally:
        work.close()
        await engine.dispose()
    return tokens


# ------------------------------------------------------------------ baseline


class Baseline(Managed):
    name = "baseline"

    def __init__(self, log: Path, workers: int, redis_url: str | None, staff: list[str], probe: dict[str, str]) -> None:
        self.workers = workers
        self.procs: list[subprocess.Popen[bytes]] = []
        port = free_port_range(workers)
        self.ports = list(range(port, port + workers))
        for n, p in enumerate(self.ports):
            args = [sys.executable, "-m", "bench.baseline_relay", "--port", str(p), "--staff", ",".join(staff)]
            if redis_url:
                args += ["--redis", redis_url]
            self.procs.append(_popen(args, log.with_name(f"{log.stem}-{n}{log.suffix}"), _base_env(probe)))
        super().__init__(self.procs[0], log, f"http://127.0.0.1:{port}")

    def server_pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def ready(self) -> None:
        for proc, port in zip(self.procs, self.ports, strict=True):
            await wait_http(f"http://127.0.0.1:{port}", proc)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ------------------------------------------------------------------ redis and the balancer


class RedisServer:
    """A throwaway redis-server without persistence, or an existing one from DUTYCHAT_BENCH_REDIS_URL."""

    def __init__(self, directory: Path) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = os.environ.get("DUTYCHAT_BENCH_REDIS_URL", "")
        if self.url:
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: install it, or set DUTYCHAT_BENCH_REDIS_URL")
        port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(directory), "--maxclients", "10000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )
        self.url = f"redis://127.0.0.1:{port}/0"

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    async def ready(self) -> None:
        import redis.asyncio as aioredis

        deadline = time.monotonic() + 10
        while True:
            client = aioredis.Redis.from_url(self.url)
            try:
                await client.ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
            finally:
                await client.aclose()

    async def flush(self) -> None:
        """Empty a throwaway server between runs (never an existing one)."""
        if self.proc is None:
            return
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        try:
            await client.flushall()
        finally:
            await client.aclose()

    def stop(self) -> None:
        self.stop_replica()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    async def start_replica(self, directory: Path) -> None:
        """Start one replica of a throwaway server and wait until it is in sync (what acknowledgements wait for).

        Both sides sync without a file, as dutychat's start-up check requires of a replicated deployment.
        """
        import redis.asyncio as aioredis

        if self.proc is None:
            raise RuntimeError("a replica is started only for a throwaway redis-server")
        binary = shutil.which("redis-server")
        assert binary is not None
        primary_port = self.url.rsplit(":", 1)[1].split("/")[0]
        primary = aioredis.Redis.from_url(self.url, decode_responses=True)
        try:
            await primary.config_set("repl-diskless-sync", "yes")
            await primary.config_set("repl-diskless-sync-delay", "0")
            await primary.config_set("repl-diskless-load", "swapdb")
            self._spawn_replica(binary, primary_port, directory)
            deadline = time.monotonic() + 20
            while True:
                info = await primary.info("replication")
                if any(isinstance(v, dict) and v.get("state") == "online" for k, v in info.items()
                       if k.startswith("slave")):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica did not come in sync within 20 s")
                await asyncio.sleep(0.1)
        finally:
            await primary.aclose()

    def _spawn_replica(self, binary: str, primary_port: str, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.replica = subprocess.Popen(
            [binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(directory), "--replicaof", "127.0.0.1", primary_port,
             "--repl-diskless-sync", "yes", "--repl-diskless-load", "swapdb"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )

    def stop_replica(self) -> None:
        replica: subprocess.Popen[bytes] | None = getattr(self, "replica", None)
        if replica is not None and replica.poll() is None:
            replica.terminate()
            try:
                replica.wait(10)
            except subprocess.TimeoutExpired:
                replica.kill()
                replica.wait()
        self.replica = None

    @property
    def replica_pids(self) -> list[int]:
        replica: subprocess.Popen[bytes] | None = getattr(self, "replica", None)
        return [replica.pid] if replica is not None and replica.poll() is None else []


class RedisClients:
    """Samples Redis's connected_clients while a phase runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        try:
            while True:
                info = await client.info("clients")
                # Our own sampling connection is not counted.
                self.samples.append(int(info["connected_clients"]) - 1)
                await asyncio.sleep(0.5)
        finally:
            await client.aclose()

    def start(self) -> None:
        self.samples = []
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> dict[str, int | None]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return {"max": max(self.samples) if self.samples else None,
                "min": min(self.samples) if self.samples else None}


async def redis_command_calls(url: str, command: str) -> int:
    """How many times Redis has run `command` since it started (INFO commandstats)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    entry = stats.get(f"cmdstat_{command}") or {}
    return int(entry.get("calls", 0)) if isinstance(entry, dict) else 0


class BalancerProcess:
    """tests/support/balancer.py (round-robin per TCP connection) in a process of its own."""

    def __init__(self, ports: list[int], log: Path) -> None:
        port = free_port()
        args = [sys.executable, "-m", "bench.servers", "balancer", "--port", str(port)]
        for p in ports:
            args += ["--backend", str(p)]
        self.proc = _popen(args, log, _base_env({}))
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid]

    async def ready(self) -> None:
        await wait_http(self.url, self.proc)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _balance(port: int, backends: list[int]) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.support.balancer import Balancer

    balancer = Balancer([("127.0.0.1", p) for p in backends])
    # The test balancer listens on a free port of its own choosing; serve on ours instead.
    server = await asyncio.start_server(balancer._accept, "127.0.0.1", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    await balancer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    bal = sub.add_parser("balancer")
    bal.add_argument("--port", type=int, required=True)
    bal.add_argument("--backend", type=int, action="append", required=True)
    args = parser.parse_args()
    asyncio.run(_balance(args.port, args.backend))


if __name__ == "__main__":
    main()


__all__: list[Any] = []
