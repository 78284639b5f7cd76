"""A canary sent through a peer group session is found nowhere after the session: database, logs, Redis, disk.

The canary also travels as the pinned copy of a moderator's message.

The real `dutychat run` process serves the session at DEBUG log level; the
clients connect from a distinct loopback address with a distinct user agent,
so the address and the user agent are canaries too, and so is the nickname.
"""

from __future__ import annotations

import secrets
import signal
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.processes import ServerProcess, clean_env, dutychat
from tests.support.redis import redis_values
from tests.test_privacy import CLIENT_ADDRESS, PASSWORD, client, scan


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_group_canary_is_nowhere_after_the_session(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    canary = "CANARY" + secrets.token_hex(8)
    nickname = "Nk" + secrets.token_hex(5)
    agent = "CanaryAgent/" + secrets.token_hex(6)
    data_dir = tmp_path / "data"
    dutychat("staff", "add", "mika", "--alias", "Mika", "--role", "manager", "--password-stdin",
             data_dir=data_dir, stdin=PASSWORD + "\n")
    env = clean_env(DUTYCHAT_LOGGING__LEVEL="DEBUG", DUTYCHAT_SERVER__PING_INTERVAL_SECONDS="1",
                    DUTYCHAT_AUTH__TOTP_REQUIRED_ROLES="[]")
    redis_url = ""
    if store == "redis":
        redis_url = request.getfixturevalue("redis_url")
        env.update(DUTYCHAT_CHAT__STORE="redis", DUTYCHAT_CHAT__REDIS_URL=redis_url,
                   DUTYCHAT_CHAT__REDIS_KEY_PREFIX=request.getfixturevalue("redis_prefix"))
    server = ServerProcess(data_dir, tmp_path / "server.log", env=env)
    staff_sio, staff_http = client(agent)
    member_sio, member_http = client(agent)
    prober_sio, prober_http = client(agent)
    try:
        await server.wait_ready()
        async with staff_http.post(f"{server.url}/api/auth/login",
                                   json={"username": "mika", "password": PASSWORD}) as r:
            assert r.status == 200
            cookie = r.cookies["dutychat_session"].value
            csrf = (await r.json())["csrf_token"]
        local = datetime.now(ZoneInfo("Europe/Helsinki")) - timedelta(minutes=1)
        end = local + timedelta(hours=2)
        async with staff_http.post(f"{server.url}/api/roster/groups", headers={"X-CSRF-Token": csrf}, json={
            "kind": "once", "date": local.date().isoformat(), "start": local.strftime("%H:%M"),
            "end": end.strftime("%H:%M"), "capacity": 10, "titles": {"en": "Peer group"},
        }) as r:
            assert r.status == 201, await r.text()
            room = f"{(await r.json())['slot']['id']}-{local.date().isoformat()}"
        await staff_sio.connect(server.url, namespaces=["/moderate"], transports=["websocket"],
                                headers={"Cookie": f"dutychat_session={cookie}"})
        assert (await staff_sio.call("group:moderate", {"room_id": room}, namespace="/moderate"))["ok"]
        await member_sio.connect(server.url, namespaces=["/group"], transports=["polling"])
        joined = await member_sio.call("group:join", {"room_id": room, "nickname": nickname, "rules_accepted": True},
                                       namespace="/group")
        assert joined["ok"], joined
        for i in range(3):
            sent = await member_sio.call("message:send", {"client_id": f"m{i}", "text": f"group {canary} {i}"},
                                         namespace="/group")
            assert sent["ok"], sent
        said = await staff_sio.call("message:send", {"room_id": room, "client_id": "s1", "text": f"mod {canary}"},
                                    namespace="/moderate")
        assert said["ok"]
        # The pinned copy of the moderator's message lives with the room, and goes with it.
        pinned = await staff_sio.call("group:pin", {"room_id": room, "seq": said["seq"]}, namespace="/moderate")
        assert pinned["ok"] and canary in pinned["state"]["pinned"]["text"], pinned
        refused = await staff_sio.call("group:pin", {"room_id": room, "seq": canary}, namespace="/moderate")
        assert refused["ok"] is False
        invitation = {"room_id": room, "member_id": joined["place"]["member_id"]}
        invited = await staff_sio.call("participant:invite", invitation, namespace="/moderate")
        assert invited["ok"], invited
        assert (await member_sio.call("typing:set", {"typing": True}, namespace="/group"))["ok"]
        assert (await member_sio.call("message:report", {"seq": 2}, namespace="/group"))["ok"]
        assert (await staff_sio.call("message:remove", {"room_id": room, "seq": 2}, namespace="/moderate"))["ok"]
        # Invalid input carrying the canary, on another socket.
        await prober_sio.connect(server.url, namespaces=["/group"], transports=["websocket"])
        for event, payload in [
            ("group:join", {"room_id": room, "nickname": canary * 2, "rules_accepted": True}),
            ("group:join", {"room_id": room, "nickname": nickname, "rules_accepted": True}),
            ("group:join", {"room_id": canary, "nickname": "Ok", "rules_accepted": True}),
            ("group:join", {"room_id": room, "nickname": canary * 20, "rules_accepted": True}),
            ("message:send", {"client_id": "x", "text": canary}),
            (canary, {"text": canary}),
            ("group:resume", {"resume_token": canary, "last_seq": 0}),
        ]:
            assert (await prober_sio.call(event, payload, namespace="/group"))["ok"] is False
        if redis_url:
            # While the session runs its text is in Redis: the scan below can see it.
            assert canary.encode() in redis_values(redis_url)
        assert (await staff_sio.call("group:end", {"room_id": room}, namespace="/moderate"))["ok"]
    finally:
        for sio in (member_sio, staff_sio, prober_sio):
            if sio.connected:
                await sio.disconnect()
        for http in (staff_http, member_http, prober_http):
            await http.close()
        assert server.stop(signal.SIGTERM) == 0, server.output()

    output = server.output()
    assert '"path": "/api/roster/groups"' in output  # the traffic was logged, so the scan means something
    for needle in (canary, nickname, CLIENT_ADDRESS, agent):
        assert needle not in output, f"{needle} found in the log output"
    leaks = scan(data_dir, [canary.encode(), nickname.encode(), CLIENT_ADDRESS.encode(), agent.encode()])
    assert not leaks, leaks
    if redis_url:
        everything = redis_values(redis_url)
        for needle in (canary, nickname, CLIENT_ADDRESS, agent):
            assert needle.encode() not in everything, f"{needle} found in Redis"
    with sqlite3.connect(data_dir / "dutychat.db") as db:
        query = "select total_participants, messages, removed_messages, reports, invitations from group_sessions"
        rows = db.execute(query).fetchall()
        dump = "\n".join(db.iterdump())
    assert rows == [(1, 4, 1, 1, 1)]
    for needle in (canary, nickname, CLIENT_ADDRESS, agent):
        assert needle not in dump
