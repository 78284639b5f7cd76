"""The group events (chat_server/groups/events.py) against docs/protocol.md §13, read as a third party would."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from chat_server import errors
from chat_server.groups import events
from chat_server.groups import room as commands
from chat_server.groups.room import Participant
from roster.groups import GroupOccurrence, GroupSlot
from roster.schedule import DutySlot, Occurrence, SlotKind
from tests.test_events_contract import DOC, payload_table, section, shared_object, top_level_keys

T0 = datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
TABLE = payload_table("13.3 Server → client")


def room() -> commands.Room:
    state = commands.new_room("3-2026-12-08", T0, T0, T0 + timedelta(hours=1), 30, 5)
    commands.join(state, Participant("p_1", "Kettu", "kettu", "h", ["a"]))
    return state


def documented(cell: str) -> set[str]:
    cell = cell.strip().strip("`")
    if cell.startswith("{"):
        return {k.strip().strip('"') for k in cell.strip("{}").split(",")}
    return shared_object(cell)


def test_every_server_event_is_documented_with_its_keys() -> None:
    state = room()
    message = commands.Message(1, "hi", T0.isoformat(), "Kettu", "p_1")
    occurrence = GroupOccurrence(
        GroupSlot(DutySlot(3, SlotKind.ONCE, time(19), time(20), "Europe/Helsinki", on_date=date(2026, 12, 8)), 30),
        Occurrence(3, date(2026, 12, 8), T0, T0 + timedelta(hours=1), 1, ()),
    )
    built = {
        events.GROUP_MESSAGE: events.message_view(message),
        events.GROUP_STATE: events.state_view(state),
        events.GROUP_PLACE: events.place_view(state, state.members["p_1"]),
        events.GROUP_PARTICIPANTS: events.participants_view(state),
        events.GROUP_MESSAGE_REMOVED: {"room_id": state.room_id, "seq": 1},
        events.GROUP_REMOVED: {"room_id": state.room_id},
        events.GROUP_ENDED: {"room_id": state.room_id, "reason": events.TIME_OVER},
        events.GROUP_TYPING: {"typing": True, "nickname": None},
        events.GROUP_REPORT: {"room_id": state.room_id, "seq": 1, "reports": 1},
        events.GROUP_INVITE: {"room_id": state.room_id},
    }
    assert set(TABLE) == set(built)
    for name, payload in built.items():
        assert set(payload) == documented(TABLE[name]), name
    # Moderators see who wrote; the shared object documents what participants see.
    assert set(events.message_view(message, for_moderators=True)) == shared_object("GroupMessage") | {"member_id"}
    public = events.session_view(occurrence, running=True)
    (example,) = [line for line in section("13.4").split("```json") if '"groups": [' in line]
    assert set(public) == top_level_keys("{" + example.split("[{", 1)[1].split("}]", 1)[0] + "}")


def test_every_client_event_and_group_error_is_documented() -> None:
    for name in (events.GROUP_JOIN, events.GROUP_RESUME, events.GROUP_LEAVE, events.MESSAGE_SEND, events.MESSAGE_REPORT,
                 events.MESSAGES_FETCH, events.TYPING_SET):
        assert f"#### `{name}`" in section("13.1"), name
    for name in (events.MODERATE_JOIN, events.MESSAGE_SEND, events.MESSAGE_REMOVE, events.PARTICIPANT_MUTE,
                 events.PARTICIPANT_REMOVE, events.GROUP_PAUSE, events.GROUP_SLOW, events.GROUP_END,
                 events.GROUP_PIN, events.GROUP_UNPIN, events.PARTICIPANT_INVITE):
        assert f"#### `{name}`" in section("13.2"), name
    codes = [v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)]
    table = section("5. Error codes")
    assert [c for c in codes if f"| `{c}` |" not in table] == []
    assert "/group" in DOC and "/moderate" in DOC
