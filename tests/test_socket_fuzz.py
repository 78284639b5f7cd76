"""A bounded fuzz of every socket event on both namespaces: no input makes a server error (issue 14, item 9).

Payloads are drawn with a fixed seed (reproducible) from values that have broken
servers before: wrong types, huge numbers, NaN, lone surrogates, NUL, very long
strings, nested containers, extra and missing fields, several arguments, and
event names that are not strings. The real chat id and resume token are mixed in,
so that handlers run past their first check. Every event must be answered, never
with internal_error, and the log must hold no error and no traceback.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.sioclient import RawClient
from chat_server import errors
from chat_server.keys import sio_key
from chat_server.realtime.base import RESERVED_EVENTS
from tests.support.clients import login
from tests.support.live import PASSWORD, Live, start_live, stop_live

SEED = 14
CASES_PER_EVENT = 40
DOCUMENTED = {v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)}

SCALARS: list[Any] = [
    None, True, False, 0, -1, 1, 7, 2**31, 2**63, 10**30, -(10**30), 1.5, -0.0, 1e308,
    float("nan"), float("inf"), "", "a", "en", "fi", "xx", "other.other", "x" * 65, "x" * 20_000,
    "\ud800", "a\udfffb", "\x00", "\u202e\u0000abc", "🙂" * 200, "<script>alert(1)</script>", "../../etc/passwd",
    "%s%n%x", "c_" + "A" * 22, "ä" * 2001,
]
CONTAINERS: list[Any] = [[], [1, "a"], [[[[]]]], ["other.other"] * 60, {}, {"a": {"b": [None]}}, {"": ""}]


class FuzzClient(RawClient):
    """The raw client, sending any argument list; JSON is ASCII-escaped so lone surrogates travel."""

    def send_args(self, namespace: str, ack_id: int, args: list[Any]) -> None:
        self._send(f"42{namespace},{ack_id}{json.dumps(args)}")

    async def call_args(self, namespace: str, args: list[Any], timeout: float = 10) -> Any:  # noqa: ASYNC109
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        ack_id = next(self._ids)
        self._acks[ack_id] = lambda ack: future.done() or future.set_result(ack)
        self.send_args(namespace, ack_id, args)
        return await asyncio.wait_for(future, timeout)


def value(rng: random.Random, real: list[Any]) -> Any:
    pick = rng.random()
    if pick < 0.25 and real:
        return rng.choice(real)
    if pick < 0.85:
        return rng.choice(SCALARS)
    return rng.choice(CONTAINERS)


def payloads(rng: random.Random, fields: list[str], real: list[Any]) -> list[list[Any]]:
    """Argument lists (after the event name) for one event."""
    cases: list[list[Any]] = [[], [None], [{}], [dict.fromkeys(fields)]]
    while len(cases) < CASES_PER_EVENT:
        kind = rng.random()
        if kind < 0.6:
            body = {f: value(rng, real) for f in fields if rng.random() < 0.9}
            if rng.random() < 0.2:
                body[rng.choice(["extra", "text", "chat_id", "\ud800", "__proto__"])] = value(rng, real)
            cases.append([body])
        elif kind < 0.8:
            cases.append([value(rng, real)])
        else:
            cases.append([{f: value(rng, real) for f in fields}, value(rng, real)])
    return cases


@pytest.fixture(params=["memory", "redis"])
async def fuzz_live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    sections: dict[str, Any] = {}
    if request.param == "redis":
        sections["chat"] = {
            "store": "redis", "redis_url": request.getfixturevalue("redis_url"),
            "redis_key_prefix": request.getfixturevalue("redis_prefix"),
        }
    live = await start_live(tmp_path, **sections)
    yield live
    await stop_live(live)


async def test_fuzz_every_socket_event_finds_no_server_error(fuzz_live: Live) -> None:
    live = fuzz_live
    rng = random.Random(SEED)
    account = await live.add_staff("aino")
    aino = await live.staff("aino")
    visitor = await live.visitor()
    await visitor.start("en")
    await aino.wait_for("chat:assigned")
    cookie = await login(live.url, "aino", PASSWORD)
    real: list[Any] = [visitor.chat_id, visitor.token, account.id, "other.other", ["other.other"], 0, 3]
    namespaces = live.app[sio_key].namespace_handlers
    http = aiohttp.ClientSession()
    sockets: dict[str, FuzzClient] = {}

    async def client(namespace: str) -> FuzzClient:
        current = sockets.get(namespace)
        if current is None or current.closed.is_set():
            current = FuzzClient(http, lambda _ns, _event, _data: None)
            headers = {"Cookie": f"dutychat_session={cookie}"} if namespace == "/staff" else {}
            await current.connect(live.url, [namespace], headers=headers)
            sockets[namespace] = current
        return current

    answered = 0
    try:
        for namespace in ("/visitor", "/staff"):
            table = namespaces[namespace].events
            names: list[Any] = [*sorted(table), *sorted(RESERVED_EVENTS), "", "x" * 300, "\ud800", 5, None, ["a"]]
            for name in names:
                schema = table[name][0] if isinstance(name, str) and name in table else None
                fields = list(schema.model_fields) if schema is not None else ["chat_id", "text"]
                for args in payloads(rng, fields, real):
                    sock = await client(namespace)
                    try:
                        ack = await sock.call_args(namespace, [name, *args], timeout=5)
                    except TimeoutError:
                        raise AssertionError(f"no answer to {namespace} {name!r} {args!r:.200}") from None
                    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (name, args, ack)
                    if not ack["ok"]:
                        code = ack["error"]["code"]
                        assert code != errors.INTERNAL_ERROR, (namespace, name, repr(args)[:300])
                        assert code in DOCUMENTED, code
                    answered += 1
    finally:
        for sock in sockets.values():
            await sock.close()
        await http.close()

    assert answered > 400
    log = live.log.getvalue()
    bad = [line for line in log.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]
    assert bad == [], bad[:5]
    # The server carries on: a new visitor can still chat.
    newcomer = await live.visitor(local_address="127.0.0.9")
    assert (await newcomer.call("chat:start", {"language": "en"}))["ok"]
