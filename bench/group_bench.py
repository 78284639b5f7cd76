"""The peer group scenario of `make bench`: one session of N participants, M messages a second in all.

Every participant is a raw socket.io client (bench/sioclient.py) in the harness
process; each message carries the monotonic time it was sent, and every
participant in the room (its sender too) records when it arrived. Figures:
delivery latency p50/p99 over every delivery, deliveries lost or doubled, and
the server's CPU time per delivered message; run.py sets them beside the
one-to-one relay's figures of the same run.
"""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any

import aiohttp

from bench.servers import cpu_seconds
from bench.sioclient import RawClient


async def plan_session(data_dir: Path, capacity: int) -> str:
    """A one-off group session running from a minute ago, straight into the database; its room id."""
    from chat_server.db import create_engine, migrate, sessionmaker
    from chat_server.settings import ensure_secret, load_settings
    from roster.groups import GroupSlot, GroupSlotRepository, room_id
    from roster.schedule import DutySlot, SlotKind

    settings = ensure_secret(load_settings(None, {"server": {"data_dir": data_dir}}, use_env=False))
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine, secret=settings.secret)
        zone = settings.organisation.zone
        local = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(zone)
        # A once-slot ends the same local day (a run started just before midnight gets a short session).
        end = min(local + timedelta(hours=2), local.replace(hour=23, minute=59))
        timing = DutySlot(0, SlotKind.ONCE, wall_time(local.hour, local.minute), wall_time(end.hour, end.minute),
                          zone.key, 1, ("en",), None, local.date())
        slot = await GroupSlotRepository(sessionmaker(engine)).create(
            GroupSlot(timing, capacity, {"en": "Bench group"}, {"en": "Bench rules"}))
        return room_id(slot.slot_id, local.date())
    finally:
        await engine.dispose()


def _percentile(values: array, q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def run_group(url: str, room: str, server_pids: list[int], participants: int, rate: float,
                    seconds: float, warmup: float) -> dict[str, Any]:
    """Join `participants`, send `rate` messages a second for `seconds`, measure every delivery."""
    latencies = array("d")
    seen: list[set[int]] = [set() for _ in range(participants)]
    duplicated = 0
    measuring = False

    def handler(index: int) -> Any:
        def on_event(_namespace: str, event: str, data: Any) -> None:
            nonlocal duplicated
            if event != "group:message" or not measuring:
                return
            seq = data["seq"]
            if seq in seen[index]:
                duplicated += 1
                return
            seen[index].add(seq)
            sent_at = float(data["text"].split(" ", 1)[0])
            latencies.append((time.monotonic() - sent_at) * 1000)
        return on_event

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        clients = [RawClient(http, handler(i)) for i in range(participants)]
        try:
            for start in range(0, participants, 50):
                batch = clients[start:start + 50]
                await asyncio.gather(*(c.connect(url, ["/group"]) for c in batch))
                joined = await asyncio.gather(*(
                    c.call("/group", "group:join",
                           {"room_id": room, "nickname": f"Peer {start + i:03d}", "rules_accepted": True})
                    for i, c in enumerate(batch)))
                refused = [j for j in joined if not j.get("ok")]
                if refused:
                    raise RuntimeError(f"group join refused: {refused[0]}")
            await asyncio.sleep(warmup)
            measuring = True
            sent, refused_sends = [], 0
            cpu_before = sum(cpu_seconds(p) for p in server_pids)
            t0 = time.monotonic()
            n = 0
            while time.monotonic() - t0 < seconds:
                sender = clients[n % participants]
                ack = await sender.call("/group", "message:send",
                                        {"client_id": f"b{n}", "text": f"{time.monotonic():.6f} bench {n}"})
                if ack.get("ok"):
                    sent.append(ack["seq"])
                else:
                    refused_sends += 1
                n += 1
                await asyncio.sleep(max(0.0, t0 + n / rate - time.monotonic()))
            # Let the last deliveries arrive before counting.
            deadline = time.monotonic() + 5
            expected = len(sent) * participants
            while len(latencies) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            wall = time.monotonic() - t0
            cpu = sum(cpu_seconds(p) for p in server_pids) - cpu_before
        finally:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    delivered = len(latencies)
    return {
        "participants": participants, "rate_per_s": rate, "seconds": seconds,
        "messages_sent": len(sent), "sends_refused": refused_sends,
        "deliveries_expected": expected, "delivered": delivered, "lost": expected - delivered,
        "duplicated": duplicated,
        "latency_ms": {"p50": _round(_percentile(latencies, 50)), "p99": _round(_percentile(latencies, 99))},
        "server_cpu_percent": round(100 * cpu / max(wall, 1e-6), 1),
        "server_cpu_us_per_delivery": _round(1e6 * cpu / delivered) if delivered else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
