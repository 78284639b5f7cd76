"""A Redis primary, a replica and three Sentinels on loopback, for failover tests.

Every node runs without persistence (`--save "" --appendonly no`) and
synchronises replicas through the socket only, each in a directory of its own
so that a test can prove nothing of a chat reached any node's disk.
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from tests.support.processes import free_port
from tests.support.redis import REDIS_SERVER_BIN, redis_answers

SERVICE = "dutychat"
# Small, so a test's failover takes a few seconds: a primary counts as down after 1 s.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 4000
# The node settings dutychat's persistence check asks for on a replicated deployment.
NODE_ARGS = (
    "--save", "", "--appendonly", "no", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
    "--repl-diskless-load", "swapdb", "--replica-serve-stale-data", "no",
)


@dataclass
class Node:
    """One redis-server process: a data node or a Sentinel."""

    port: int
    directory: Path
    proc: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no goodbye to replicas, Sentinels or clients."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _start(directory: Path, args: list[str], port: int) -> Node:
    if not REDIS_SERVER_BIN.exists():
        pytest.fail(f"{REDIS_SERVER_BIN} is missing: install Debian's redis-server to run the Sentinel tests")
    directory.mkdir(parents=True, exist_ok=True)
    log = (directory / "redis.log").open("wb")
    proc = subprocess.Popen([str(REDIS_SERVER_BIN), *args], stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    log.close()
    node = Node(port, directory, proc)
    deadline = time.monotonic() + 10
    while not redis_answers(f"redis://127.0.0.1:{port}/0"):
        if proc.poll() is not None or time.monotonic() > deadline:
            node.stop()
            pytest.fail(f"redis-server {' '.join(args)} did not start:\n{(directory / 'redis.log').read_text()}")
        time.sleep(0.05)
    return node


def start_data_node(directory: Path, replica_of: int | None = None) -> Node:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), *NODE_ARGS]
    if replica_of is not None:
        args += ["--replicaof", "127.0.0.1", str(replica_of)]
    return _start(directory, args, port)


def start_sentinel(directory: Path, primary_port: int) -> Node:
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "sentinel.conf"
    # Sentinel rewrites this file with what it learns (replicas, other Sentinels): never chat data.
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {SERVICE} 1\n"
    )
    return _start(directory, [str(conf), "--sentinel"], port)


@dataclass
class SentinelDeployment:
    """One primary, one replica, three Sentinels."""

    root: Path
    nodes: list[Node] = field(default_factory=list)
    sentinels: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/0/{SERVICE}"

    def primary_port(self) -> int:
        """The primary the Sentinels name now (the first that answers)."""
        for sentinel in self.sentinels:
            if not sentinel.alive():
                continue
            client = redis.Redis(port=sentinel.port, socket_timeout=1, decode_responses=True)
            try:
                _host, port = cast("tuple[str, int]", client.sentinel_get_master_addr_by_name(SERVICE))
                return int(port)
            except redis.RedisError:
                continue
            finally:
                client.close()
        raise AssertionError("no Sentinel answers")

    def primary(self) -> Node:
        port = self.primary_port()
        return next(n for n in self.nodes if n.port == port)

    def wait_replica_in_sync(self, timeout: float = 15) -> None:
        """Until the primary reports a replica online (and the Sentinels have noticed it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            primary = redis.Redis(port=self.primary_port(), socket_timeout=1, decode_responses=True)
            try:
                info = primary.info("replication")
                online = [v for k, v in info.items() if k.startswith("slave") and v.get("state") == "online"]
                known = all(self._sentinel_knows_replicas(s) for s in self.sentinels if s.alive())
                if online and known:
                    return
            except redis.RedisError:
                pass
            finally:
                primary.close()
            time.sleep(0.1)
        raise AssertionError("no replica in sync")

    def _sentinel_knows_replicas(self, sentinel: Node) -> bool:
        """Whether this Sentinel sees a replica it could promote, and the other Sentinels."""
        client = redis.Redis(port=sentinel.port, socket_timeout=1, decode_responses=True)
        try:
            replicas = client.sentinel_slaves(SERVICE)
            others = cast("list[dict[str, Any]]", client.sentinel_sentinels(SERVICE))
        except redis.RedisError:
            return False
        finally:
            client.close()
        good = [r for r in replicas if not (r.get("is_sdown") or r.get("is_disconnected"))
                and r.get("master-link-status") == "ok"]
        return bool(good) and len(others) >= 2

    def wait_primary_moved(self, old_port: int, timeout: float = 20) -> int:
        """Until the Sentinels name another primary and it accepts writes; its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                port = self.primary_port()
            except AssertionError:
                port = old_port
            if port != old_port:
                client = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
                try:
                    if client.info("replication").get("role") == "master":
                        return port
                except redis.RedisError:
                    pass
                finally:
                    client.close()
            time.sleep(0.1)
        raise AssertionError(f"the Sentinels did not promote a replica within {timeout}s")

    def switch_over(self, timeout: float = 20) -> None:
        """A planned switch-over: SENTINEL FAILOVER on one Sentinel (retried while it sees no good replica yet)."""
        client = redis.Redis(port=self.sentinels[0].port, socket_timeout=2, decode_responses=True)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.sentinel_failover(SERVICE)
                    return
                except redis.ResponseError as exc:
                    # NOGOODSLAVE until the Sentinel has read the new replica's INFO.
                    if "NOGOODSLAVE" not in str(exc) or time.monotonic() > deadline:
                        raise
                time.sleep(0.2)
        finally:
            client.close()

    def restart_as_replica(self, node: Node) -> Node:
        """Start a killed node again on its port (empty); the Sentinels make it a replica of the primary."""
        args = ["--port", str(node.port), "--bind", "127.0.0.1", "--dir", str(node.directory), *NODE_ARGS,
                "--replicaof", "127.0.0.1", str(self.primary_port())]
        fresh = _start(node.directory, args, node.port)
        self.nodes[self.nodes.index(node)] = fresh
        return fresh

    def stop(self) -> None:
        for node in [*self.sentinels, *self.nodes]:
            node.stop()

    def files(self) -> list[Path]:
        """Every file in the data nodes' directories except their own logs."""
        return [p for n in self.nodes for p in n.directory.rglob("*") if p.is_file() and p.name != "redis.log"]


def start_sentinel_deployment(root: Path) -> SentinelDeployment:
    deployment = SentinelDeployment(root)
    try:
        primary = start_data_node(root / "node-a")
        deployment.nodes.append(primary)
        deployment.nodes.append(start_data_node(root / "node-b", replica_of=primary.port))
        for n in range(3):
            deployment.sentinels.append(start_sentinel(root / f"sentinel-{n}", primary.port))
        deployment.wait_replica_in_sync(20)
    except BaseException:
        deployment.stop()
        raise
    return deployment
