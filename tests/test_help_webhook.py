"""The optional "Help now" webhook, against a real local aiohttp server.

When nobody else is signed in to the console, a raised alarm is POSTed as a
small JSON with no chat content; with a colleague signed in, nothing is sent.
A refusal or a timeout is logged with the host only, never the address's
secret path or query; the alarm itself goes out either way.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.live import settle, start_live, stop_live

SECRET = "s3cr3tpath"


class Receiver:
    """A webhook receiver: records each POST; answers `status`, after `delay` seconds."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        self.arrived = asyncio.Event()
        app = web.Application()
        app.router.add_post(f"/hook/{SECRET}", self.hook)
        self.server = TestServer(app, host="127.0.0.1")

    async def hook(self, request: web.Request) -> web.Response:
        self.got.append(await request.json())
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({}, status=self.status)

    async def next_post(self) -> dict[str, Any]:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()
        return self.got[-1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/hook/{SECRET}?token={SECRET}"


async def test_help_webhook_when_nobody_else_is_signed_in(tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.server.start_server()
    live = await start_live(tmp_path, help={"webhook_url": receiver.url, "webhook_timeout_seconds": 1})
    try:
        await live.add_staff("aino", alias="Aino")
        await live.add_staff("leo", alias="Leo")
        aino = await live.staff("aino")
        visitor = await live.visitor()
        await visitor.start("fi")
        chat_id = visitor.chat_id
        await aino.wait_for("chat:assigned")
        assert (await visitor.send("WEBHOOKCANARY he is here", "v1"))["ok"]
        raised = await aino.call("help:raise", {"chat_id": chat_id})
        assert raised["ok"], raised
        sent = await receiver.next_post()
        alarm = raised["alarm"]
        assert sent == {"event": "help_needed", "help_needed": True, "service": live.settings.server.public_url,
                        "alarm_id": alarm["alarm_id"], "raised_at": alarm["raised_at"]}
        dump = json.dumps(sent)
        for word in ("WEBHOOKCANARY", "Aino", chat_id or "", visitor_alias := raised["alarm"]["visitor_alias"]):
            assert word and word not in dump, word
        assert visitor_alias
        assert (await aino.call("help:answer", {"alarm_id": alarm["alarm_id"]}))["ok"]

        # Leo signed in (not even checked in) can answer: nothing is sent.
        leo = await live.staff("leo", check_in=False)
        assert (await aino.call("help:raise", {}))["ok"]
        await leo.wait_for("help:alarm")
        await settle()
        assert len(receiver.got) == 1
        await leo.disconnect()
        await settle()

        # A refusing receiver, then a slow one: logged with the host only; the alarm still went out.
        open_alarm = (await aino.call("staff:sync", {}))["alarms"][0]
        assert (await aino.call("help:answer", {"alarm_id": open_alarm["alarm_id"]}))["ok"]
        receiver.status = 500
        assert (await aino.call("help:raise", {}))["ok"]
        await receiver.next_post()
        for _ in range(50):
            if "help webhook refused" in live.log.getvalue():
                break
            await settle(0.1)
        open_alarm = (await aino.call("staff:sync", {}))["alarms"][0]
        assert (await aino.call("help:answer", {"alarm_id": open_alarm["alarm_id"]}))["ok"]
        receiver.status, receiver.delay = 200, 3
        assert (await aino.call("help:raise", {}))["ok"]
        await receiver.next_post()
        for _ in range(50):
            if "help webhook timed out" in live.log.getvalue():
                break
            await settle(0.1)
        log = live.log.getvalue()
        refused = [json.loads(line) for line in log.splitlines() if "help.webhook_failed" in line]
        assert {(r["msg"], r.get("status")) for r in refused} == {
            ("help webhook refused", 500), ("help webhook timed out", None),
        }
        assert all(r["host"] == "127.0.0.1" for r in refused)
        assert SECRET not in log and "WEBHOOKCANARY" not in log
    finally:
        await stop_live(live)
        await receiver.server.close()
