"""A one-to-one chat started from a moderator's invitation counts as from the group: on its row, in the
report, in the CSV; nothing links it to the session or the nickname, and a token counts once."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_server import errors
from chat_server.accounts import Role
from tests.support.clients import StaffMember
from tests.support.groups import plan_group_now
from tests.support.http import Http
from tests.support.live import Live, settle, start_live, stop_live
from tests.support.redis import redis_keys
from tests.test_groups import code, moderator, participant


@pytest.fixture(params=["memory", "redis"])
async def live(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    chat: dict[str, object] = {}
    if request.param == "redis":
        chat = {"store": "redis", "redis_url": request.getfixturevalue("redis_url"),
                "redis_key_prefix": request.getfixturevalue("redis_prefix")}
    running = await start_live(tmp_path, chat=chat)
    yield running
    await stop_live(running)


async def _chat(
    live: Live, staff: StaffMember, invitation: object = None, *, with_key: bool = True
) -> None:
    """One answered chat, ended by the staff member with a topic: its row is written then."""
    visitor = await live.visitor()
    payload: dict[str, object] = {"language": "fi"}
    if with_key:
        payload["invitation"] = invitation
    ack = await visitor.call("chat:start", payload)
    assert ack["ok"], ack
    chat_id = ack["chat"]["chat_id"]
    await staff.wait_for("chat:assigned", lambda c: c["chat_id"] == chat_id)
    assert (await staff.call("chat:end", {"chat_id": chat_id, "topics": ["health.mental"]}))["ok"]


async def test_a_chat_from_an_invitation_counts_as_from_the_group(live: Live, request: pytest.FixtureRequest) -> None:
    peer = await live.add_staff("pia", alias="Pia", role=Role.PEER, shift=False)
    await live.add_staff("sara", alias="Sara")
    occurrence = await plan_group_now(live.app, live.clock.now(), moderators=(peer.id,))
    room = occurrence.room_id
    sara = await live.staff("sara")
    mod = await moderator(live, "pia")
    assert (await mod.act("group:moderate", room_id=room))["ok"]
    kettu, karhu = await participant(live), await participant(live)
    await kettu.join(room, "Kettu")
    await karhu.join(room, "Karhu")

    # Nobody invited them: nothing to accept. A socket without a place cannot either.
    assert code(await karhu.call("invitation:accept", {})) == errors.NOT_INVITED
    stranger = await participant(live)
    assert code(await stranger.call("invitation:accept", {})) == errors.NOT_IN_GROUP
    assert code(await kettu.call("invitation:accept", {"x": 1})) == errors.INVALID_PAYLOAD

    assert (await mod.act("participant:invite", room_id=room, member_id=kettu.member_id))["ok"]
    assert await kettu.wait_for("group:invite") == {"room_id": room}
    accepted = await kettu.call("invitation:accept", {})
    assert accepted["ok"] and isinstance(accepted["invitation"], str) and len(accepted["invitation"]) >= 24
    assert code(await kettu.call("invitation:accept", {})) == errors.NOT_INVITED  # once per invitation
    assert (await kettu.call("group:leave", {}))["ok"]

    # Bad tokens are refused at the edge; an unknown one starts an ordinary chat.
    bad = await live.visitor()
    for wrong in ("", "x" * 65, 12, ["t"]):
        assert (await bad.call("chat:start", {"language": "fi", "invitation": wrong}))["error"]["code"] == (
            errors.INVALID_PAYLOAD)
    await _chat(live, sara, accepted["invitation"])
    await _chat(live, sara, accepted["invitation"])  # used up: not from the group again
    await _chat(live, sara, "never-issued-token")
    await _chat(live, sara, None)
    await _chat(live, sara, with_key=False)
    await settle(0.3)

    rows = await live.session_rows()
    assert len(rows) == 5 and sorted(r["from_group"] for r in rows) == [False, False, False, False, True]
    # The row says nothing of the session, the nickname or the token.
    assert not any(room in str(r) or "Kettu" in str(r) or accepted["invitation"] in str(r) for r in rows)

    await live.add_staff("mira", alias="Mira", role=Role.MANAGER, shift=False)
    today = live.clock.now().astimezone(live.settings.organisation.zone).date().isoformat()
    async with Http(live) as http:
        await http.login("mira")
        report = (await http.get(f"/api/reports?from={today}&to={today}&small_numbers=off")).body
        export = await http.get(f"/api/reports/export.csv?from={today}&to={today}&small_numbers=off")
    assert report["period"]["from_group"] == 1
    lines = list(csv.reader(io.StringIO(export.text)))
    assert ["from_group", "", "sessions", "1"] in [line[3:] for line in lines]
    assert (await mod.act("group:end", room_id=room))["ok"]
    if live.settings.chat.store == "redis":
        # The used token is gone from the live store; nothing names the session or the participant.
        keys = redis_keys(request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"))
        assert not [k for k in keys if "ginvite" in k or room in k]
