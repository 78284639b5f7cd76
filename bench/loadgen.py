"""The load generator: separate processes, the same for dutychat and the baseline.

Each generator process holds some visitor and staff connections and obeys
commands from the harness over a pipe (connect, start chats, run a phase,
report, close). Several processes run side by side; `GeneratorPool` drives
them together.

Every message text is "<n> <monotonic send time>", n counting the messages of
one chat from one sender, so any receiver (in any generator process: the
clock is one for the whole machine) measures the one-way latency, and the
harness counts lost, duplicated and out-of-order messages per chat and
sender without trusting the server. dutychat's `seq` is checked as well.

Phases:
- "closed": every active chat has one message in flight: the visitor sends,
  the staff member answers as soon as it arrives, the visitor sends the next
  as soon as the answer arrives (saturation throughput).
- "open": every active visitor sends one message every `interval` seconds
  (random phase); the staff member answers each one `interval / 2` after it
  arrives, so each side sends one message per interval.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import random
import time
import traceback
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bench.sioclient import CLIENTS, ConnectRefused
from chat_server.openfiles import raise_open_files_limit as raise_open_files

CONNECT_CONCURRENCY = 50
QUIET_SECONDS = 0.3
SLOW_MS = 5.0
DRAIN_LIMIT_SECONDS = 10.0


@dataclass
class Inbox:
    """What one side received from one sender in one chat."""

    expected: int = 1
    missing: set[int] = field(default_factory=set)
    unique: int = 0
    dup: int = 0
    ooo: int = 0

    def take(self, n: int) -> None:
        if n == self.expected:
            self.expected += 1
            self.unique += 1
        elif n > self.expected:
            self.missing.update(range(self.expected, n))
            self.expected = n + 1
            self.unique += 1
        elif n in self.missing:
            self.missing.discard(n)
            self.ooo += 1
            self.unique += 1
        else:
            self.dup += 1


@dataclass
class Visitor:
    client: Any
    chat_id: str | None = None
    state: str | None = None
    sent: int = 0


class Phase:
    """Counters of one phase in one process."""

    def __init__(self, mode: str, start: float, measure_from: float, end: float, interval: float) -> None:
        self.mode = mode
        self.start = start
        self.measure_from = measure_from
        self.end = end
        self.interval = interval
        self.scheduled_in_window = 0
        self.sent_in_window = 0
        self.delivered_in_window = 0
        self.latency = {"visitor": array("d"), "staff": array("d")}  # by sender, ms
        self.send_lag = array("d")  # how late scheduled sends went out, ms
        self.slow = array("d")  # (send time, latency ms) pairs of deliveries slower than SLOW_MS
        self.loop_lag_max = 0.0

    def running(self, now: float) -> bool:
        return self.start <= now < self.end

    def in_window(self, t: float) -> bool:
        return self.measure_from <= t < self.end


class Generator:
    def __init__(self, conn: Connection, index: int, client_kind: str) -> None:
        self.conn = conn
        self.index = index
        self.client_cls = CLIENTS[client_kind]
        self.http: aiohttp.ClientSession | None = None
        self.visitors: list[Visitor] = []
        self.visitor_of_client: dict[int, Visitor] = {}
        self.staff: list[Any] = []
        self.visitor_by_chat: dict[str, Visitor] = {}
        self.sent: dict[tuple[str, str], int] = defaultdict(int)  # (chat, sender) -> acked ok
        self.errors: dict[str, int] = defaultdict(int)
        self.unacked = 0
        self.inbox: dict[tuple[str, str, str], Inbox] = {}  # (chat, sender, receiving side)
        self.last_seq: dict[tuple[str, str], int] = {}
        self.seq_anomalies = 0
        self.assigned: dict[str, int] = defaultdict(int)  # chat id -> chat:assigned seen
        self.queue_length: int | None = None
        self.last_receive = 0.0
        self.phase: Phase | None = None
        self.staff_counter: dict[str, int] = defaultdict(int)

    # ------------------------------------------------------------- plumbing

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        try:
            while True:
                command, args = await loop.run_in_executor(None, self.conn.recv)
                if command == "exit":
                    break
                try:
                    result = await getattr(self, "cmd_" + command)(**args)
                except Exception:
                    self.conn.send(("error", f"generator {self.index}: {traceback.format_exc()}"))
                else:
                    self.conn.send(("ok", result))
        finally:
            await self.cmd_close()
            await self.http.close()

    def _client(self, side: str) -> Any:
        assert self.http is not None
        holder: list[Any] = []

        def on_event(namespace: str, event: str, data: Any) -> None:
            self._on_event(side, holder[0], event, data)

        client = self.client_cls(self.http, on_event)
        holder.append(client)
        return client

    # ------------------------------------------------------------- commands

    async def cmd_connect_staff(self, url: str, cookies: list[str], check_in: bool) -> int:
        async def one(cookie: str) -> Any:
            client = self._client("staff")
            await client.connect(url, ["/staff"], {"Cookie": f"dutychat_session={cookie}"})
            if check_in:
                ack = await client.call("/staff", "duty:check_in", {})
                if not ack.get("ok"):
                    raise RuntimeError(f"check-in refused: {ack}")
            return client

        self.staff += await asyncio.gather(*(one(c) for c in cookies))
        return len(self.staff)

    async def cmd_connect_visitors(self, url: str, count: int) -> int:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one() -> Visitor:
            async with gate:
                client = self._client("visitor")
                visitor = Visitor(client)
                self.visitor_of_client[id(client)] = visitor
                await client.connect(url, ["/visitor"])
                return visitor

        self.visitors += await asyncio.gather(*(one() for _ in range(count)))
        return len(self.visitors)

    async def cmd_start_chats(
        self, start_at: float, offsets: list[float],
        timeout: float = 60,  # noqa: ASYNC109 - part of the command the controller sends
    ) -> dict[str, Any]:
        """chat:start on each new visitor at start_at + its offset; ack times in ms."""
        pending = [v for v in self.visitors if v.chat_id is None][: len(offsets)]
        loop = asyncio.get_running_loop()
        results: list[tuple[float, float, str]] = []
        done = asyncio.Event()
        remaining = len(pending)

        def fire(visitor: Visitor, scheduled: float) -> None:
            sent = time.monotonic()

            def on_ack(ack: Any) -> None:
                nonlocal remaining
                took = (time.monotonic() - sent) * 1000
                if ack and ack.get("ok"):
                    chat = ack["chat"]
                    visitor.chat_id = chat["chat_id"]
                    # A chat:state pushed before the ack is not sent (the ack has it); keep a later one.
                    if visitor.state is None:
                        visitor.state = chat["state"]
                    if visitor.chat_id:
                        self.visitor_by_chat[visitor.chat_id] = visitor
                    results.append((took, (sent - scheduled) * 1000, chat["state"]))
                else:
                    results.append((took, (sent - scheduled) * 1000, "error:" + str(ack)))
                remaining -= 1
                if remaining == 0:
                    done.set()

            visitor.client.emit("/visitor", "chat:start", {"language": "en"}, on_ack)

        base = loop.time() + (start_at - time.monotonic())
        for visitor, offset in zip(pending, offsets, strict=False):  # fewer visitors than offsets is fine
            loop.call_at(base + offset, fire, visitor, start_at + offset)
        if pending:
            await asyncio.wait_for(done.wait(), timeout + max(offsets, default=0))
        return {
            "ack_ms": [r[0] for r in results],
            "late_ms": [r[1] for r in results],
            "states": [r[2] for r in results],
        }

    async def cmd_wait_active(self, timeout: float) -> int:  # noqa: ASYNC109 - part of the command the controller sends
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(v.state == "active" for v in self.visitors if v.chat_id):
                break
            await asyncio.sleep(0.05)
        return sum(1 for v in self.visitors if v.state == "active")

    async def cmd_report_assignments(self) -> dict[str, Any]:
        return {
            "assigned": dict(self.assigned),
            "queue_length": self.queue_length,
            "visitor_states": [v.state for v in self.visitors if v.chat_id],
            "visitor_chats": [v.chat_id for v in self.visitors if v.chat_id],
        }

    async def cmd_phase(self, mode: str, start_at: float, warmup: float, duration: float,
                        active: int, interval: float = 0.0, quiet: float = QUIET_SECONDS) -> dict[str, Any]:
        """Run one load phase with the first `active` local visitors; report after the drain."""
        loop = asyncio.get_running_loop()
        phase = Phase(mode, start_at, start_at + warmup, start_at + warmup + duration, interval)
        self.phase = phase
        before = self._totals()
        ticker = asyncio.create_task(self._lag_ticker(phase))
        chats = [v for v in self.visitors if v.state == "active"][:active]
        base = loop.time() + (start_at - time.monotonic())
        # The generator's own collector must not pause it mid-phase: collect now, then not at all.
        gc.collect()
        gc.disable()
        if mode == "closed":
            for v in chats:
                loop.call_at(base, self._visitor_send, phase, v)
        else:
            rng = random.Random(self.index)
            for v in chats:
                first = rng.uniform(0, interval)
                loop.call_at(base + first, self._scheduled_send, phase, v, start_at + first, base + first)
        await asyncio.sleep(max(0.0, phase.end - time.monotonic()))
        # Drain: wait until nothing has arrived for a while.
        drain_until = time.monotonic() + DRAIN_LIMIT_SECONDS
        # Quiet is the absence of events, which no Event can signal.
        while time.monotonic() < drain_until and time.monotonic() - self.last_receive < quiet:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        ticker.cancel()
        self.phase = None
        gc.enable()
        after = self._totals()
        return {
            "scheduled_in_window": phase.scheduled_in_window,
            "sent_in_window": phase.sent_in_window,
            "delivered_in_window": phase.delivered_in_window,
            "latency_visitor_ms": phase.latency["visitor"].tobytes(),
            "latency_staff_ms": phase.latency["staff"].tobytes(),
            "send_lag_ms": phase.send_lag.tobytes(),
            "slow": phase.slow.tobytes(),
            "loop_lag_max_ms": phase.loop_lag_max * 1000,
            "delta": {k: after[k] - before[k] for k in after},
        }

    async def cmd_close(self) -> int:
        clients = [v.client for v in self.visitors] + self.staff
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        self.visitors.clear()
        self.visitor_of_client.clear()
        self.visitor_by_chat.clear()
        self.staff.clear()
        self.assigned.clear()
        self.queue_length = None
        return len(clients)

    async def cmd_ping(self) -> int:
        return os.getpid()

    # ------------------------------------------------------------- sending

    def _text(self, n: int) -> str:
        return f"{n} {time.monotonic():.6f}"

    def _visitor_send(self, phase: Phase, visitor: Visitor) -> None:
        now = time.monotonic()
        # A callback left over from an earlier phase does nothing.
        if phase is not self.phase or not phase.running(now) or visitor.chat_id is None:
            return
        if phase.in_window(now):
            phase.sent_in_window += 1
        visitor.sent += 1
        n = visitor.sent
        chat_id = visitor.chat_id
        visitor.client.emit("/visitor", "message:send", {"client_id": f"v{n}", "text": self._text(n)},
                            self._acker(chat_id, "visitor"))

    def _scheduled_send(self, phase: Phase, visitor: Visitor, scheduled: float, loop_at: float) -> None:
        if phase is not self.phase or scheduled >= phase.end:
            return
        now = time.monotonic()
        if phase.in_window(scheduled):
            phase.scheduled_in_window += 1
            phase.send_lag.append((now - scheduled) * 1000)
        self._visitor_send(phase, visitor)
        asyncio.get_running_loop().call_at(loop_at + phase.interval, self._scheduled_send, phase, visitor,
                                           scheduled + phase.interval, loop_at + phase.interval)

    def _staff_send(self, phase: Phase, client: Any, chat_id: str) -> None:
        now = time.monotonic()
        if phase is not self.phase or not phase.running(now):
            return
        if phase.in_window(now):
            phase.sent_in_window += 1
        self.staff_counter[chat_id] += 1
        n = self.staff_counter[chat_id]
        client.emit("/staff", "message:send", {"chat_id": chat_id, "client_id": f"s{n}", "text": self._text(n)},
                    self._acker(chat_id, "staff"))

    def _acker(self, chat_id: str, sender: str) -> Any:
        self.unacked += 1

        def on_ack(ack: Any) -> None:
            self.unacked -= 1
            if ack and ack.get("ok"):
                self.sent[(chat_id, sender)] += 1
            else:
                code = (ack or {}).get("error", {}).get("code", "no_ack")
                self.errors[code] += 1

        return on_ack

    # ------------------------------------------------------------- receiving

    def _on_event(self, side: str, client: Any, event: str, data: Any) -> None:
        if event == "message:new":
            self._on_message(side, client, data)
        elif event == "chat:assigned" and side == "staff":
            self.assigned[data["chat_id"]] += 1
        elif event == "chat:state" and side == "visitor":
            visitor = self.visitor_of_client.get(id(client))
            if visitor is not None:
                visitor.state = data.get("state")
        elif event == "queue:update" and side == "staff":
            self.queue_length = len(data.get("queue", ()))

    def _on_message(self, side: str, client: Any, data: dict[str, Any]) -> None:
        now = time.monotonic()
        self.last_receive = now
        chat_id = data["chat_id"]
        sender = data["sender"]
        n_text, _, sent_text = data["text"].partition(" ")
        n = int(n_text)
        key = (chat_id, sender, side)
        inbox = self.inbox.get(key)
        if inbox is None:
            inbox = self.inbox[key] = Inbox()
        inbox.take(n)
        seq = data.get("seq")
        if seq is not None:
            last = self.last_seq.get((chat_id, side), 0)
            if seq != last + 1:
                self.seq_anomalies += 1
            if seq > last:
                self.last_seq[(chat_id, side)] = seq
        if sender == side:
            return  # our own message coming back
        phase = self.phase
        if phase is None:
            return
        sent_at = float(sent_text)
        if phase.in_window(sent_at):
            latency = (now - sent_at) * 1000
            phase.latency[sender].append(latency)
            if latency > SLOW_MS:
                phase.slow.extend((sent_at, latency))
        if phase.in_window(now):
            phase.delivered_in_window += 1
        if side == "staff":
            if phase.mode == "closed":
                self._staff_send(phase, client, chat_id)
            else:
                asyncio.get_running_loop().call_later(phase.interval / 2, self._staff_send, phase, client, chat_id)
        elif phase.mode == "closed":
            visitor = self.visitor_by_chat.get(chat_id)
            if visitor is not None:
                self._visitor_send(phase, visitor)

    def _totals(self) -> dict[str, int]:
        cross = echo = dup = ooo = 0
        for (_chat, sender, side), inbox in self.inbox.items():
            if sender == side:
                echo += inbox.unique
            else:
                cross += inbox.unique
            dup += inbox.dup
            ooo += inbox.ooo
        return {
            "sent_ok": sum(self.sent.values()),
            "received_other_side": cross,
            "received_echo": echo,
            "duplicated": dup,
            "out_of_order": ooo,
            "seq_anomalies": self.seq_anomalies,
            "errors": sum(self.errors.values()),
            "unacked": self.unacked,
        }

    async def _lag_ticker(self, phase: Phase) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + 0.02
            await asyncio.sleep(0.02)
            lag = loop.time() - expected
            if phase.in_window(time.monotonic()):
                phase.loop_lag_max = max(phase.loop_lag_max, lag)


def _process_main(conn: Connection, index: int, client_kind: str) -> None:
    raise_open_files()  # thousands of client sockets per process in the cost curves
    asyncio.run(Generator(conn, index, client_kind).serve())


class GeneratorError(RuntimeError):
    pass


class GeneratorPool:
    """N generator processes, driven together."""

    def __init__(self, count: int, client_kind: str = "raw") -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for index in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_process_main, args=(child, index, client_kind), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def __len__(self) -> int:
        return len(self.procs)

    async def call(self, command: str, args: list[dict[str, Any]] | dict[str, Any]) -> list[Any]:
        """Send a command to every process (the same args, or one dict each) and gather answers."""
        per = args if isinstance(args, list) else [args] * len(self.conns)
        for conn, a in zip(self.conns, per, strict=True):
            conn.send((command, a))
        loop = asyncio.get_running_loop()
        answers = await asyncio.gather(*(loop.run_in_executor(None, conn.recv) for conn in self.conns))
        failures = [detail for status, detail in answers if status != "ok"]
        if failures:
            raise GeneratorError("\n".join(failures))
        return [detail for _status, detail in answers]

    async def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(("exit", {}))
            except (OSError, BrokenPipeError):
                pass
        loop = asyncio.get_running_loop()
        for proc in self.procs:
            await loop.run_in_executor(None, proc.join, 10)
            if proc.is_alive():
                proc.kill()
                proc.join()


def split(total: int, parts: int) -> list[int]:
    """total spread over parts as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


__all__ = ["ConnectRefused", "GeneratorPool", "GeneratorError", "split"]
