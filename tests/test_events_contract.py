"""The event vocabulary (chat_server/chat/events.py) against docs/protocol.md, read as a third party would.

Every server-to-client payload builder is called and its keys compared with the
payload tables (sections 3.2 and 4.2) and the shared objects (section 2.2);
every event name and reason constant must be documented.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chat_server.chat import events
from chat_server.chat.models import Chat, ChatState, EndReason, HelpAlarm, Message, Sender, ThreadEntry, ThreadKind
from chat_server.chat.notifier import StaffNotifier, VisitorNotifier
from chat_server.debriefs import Debrief

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def section(title: str) -> str:
    """The text of the section whose heading starts with `title`, up to the next heading of its level or above."""
    match = re.search(rf"^(#+) {re.escape(title)}.*$", DOC, re.M)
    assert match, f"no section {title!r} in docs/protocol.md"
    level = len(match.group(1))
    rest = DOC[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def top_level_keys(text: str) -> set[str]:
    """The keys of a JSON-like object `{"a", "b": ..., "c": {...}}` as the document writes them."""
    text = text.strip()
    assert text.startswith("{") and text.endswith("}"), text
    items, depth, current = [], 0, ""
    for char in text[1:-1]:
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    keys = set()
    for item in items:
        found = re.match(r'\s*"([^"]+)"', item)
        assert found, f"no key in {item!r} of {text!r}"
        keys.add(found.group(1))
    return keys


def shared_object(name: str) -> set[str]:
    """The keys of a shared object (`**Name**` followed by a JSON example)."""
    match = re.search(rf"^\*\*{name}\*\*.*?```json\n(.*?)```", DOC, re.M | re.S)
    assert match, f"no shared object {name} in docs/protocol.md"
    return top_level_keys(match.group(1))


def payload_table(title: str) -> dict[str, str]:
    """Event name -> payload cell of a `| event | payload | when |` table."""
    rows = {}
    for line in section(title).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0] != "event":
            rows[cells[0].strip("`")] = cells[1]
    assert rows, f"no payload table in {title}"
    return rows


def documented_keys(cell: str) -> set[str]:
    cell = cell.strip()
    if cell.startswith("`{"):
        return top_level_keys(cell.strip("`"))
    return shared_object(cell.strip("`"))


VISITOR_TABLE = payload_table("3.2 Server → client")
STAFF_TABLE = payload_table("4.2 Server → client")


def chat(state: ChatState = ChatState.ACTIVE) -> Chat:
    return Chat(
        chat_id="c_1", session_id="s1", resume_hash="h", language="fi", visitor_alias="Guest 1234", state=state,
        created_at=T0, staff_id=1, assigned_at=T0, first_assigned_at=T0, last_seq=1,
        end_reason=EndReason.STAFF_ENDED if state is ChatState.ENDED else None,
    )


MESSAGE = Message("c_1", 1, Sender.VISITOR, "m-1", "hello", T0)
STAFF_MESSAGE = Message("c_1", 2, Sender.STAFF, "s-1", "hi", T0, 1, "Aino")
VIEW = events.visitor_view(chat(ChatState.WAITING), 1, 60, None)
DESK = events.desk_view("wait", ["fi"], T0)
DESK_VIEW = events.visitor_view(chat(ChatState.WAITING), 1, None, None, DESK)
STAFF_VIEW = events.staff_view(chat(), [MESSAGE], T0)
ENTRIES = events.queue_entries([chat(ChatState.WAITING)])
ROSTER = [events.roster_entry(1, "Aino", ("fi",), 3, 1)]
ON_CALL = events.on_call_entry(9, "Maja", T0, True)
ALARM = HelpAlarm("a1", 1, "Aino", T0, "c_1", 2, "Leo", T0)
THREAD_MEMBERS = [events.thread_member(1, "Aino"), events.thread_member(2, "Leo")]
THREAD_ENTRY = ThreadEntry("c_1", 1, ThreadKind.MESSAGE, 1, "Aino", "t-1", "advice?", T0)
THREAD = events.thread_view(chat(), THREAD_MEMBERS[0], THREAD_MEMBERS, [THREAD_ENTRY])

# (namespace, event, builder, payload, extra keys the document names in the "when" column)
CASES: list[tuple[str, str, str, Any, set[str]]] = [
    ("visitor", events.CHAT_STATE, "visitor_view", VIEW, set()),
    ("visitor", events.CHAT_STATE, "visitor_view", DESK_VIEW, {"desk"}),
    ("visitor", events.CHAT_STATE, "closed_view", events.closed_view("fi", T0), set()),
    ("visitor", events.CHAT_STATE, "chat_state", events.chat_state(VIEW), set()),
    ("visitor", events.CHAT_STATE, "chat_state", events.chat_state(VIEW, events.HANDED_OVER), {"reason"}),
    ("visitor", events.CHAT_STATE, "chat_state", events.chat_state(VIEW, events.STAFF_DISCONNECTED), {"reason"}),
    ("visitor", events.CHAT_STATE, "chat_state",
     events.chat_state({**VIEW, "colleague": events.colleague_view("Leo", "listener")}, events.COLLEAGUE_JOINED),
     {"reason", "colleague"}),
    ("visitor", events.CHAT_STATE, "chat_state",
     events.chat_state(VIEW, events.COLLEAGUE_LEFT, events.colleague_view("Leo", "responder")), {"reason", "left"}),
    ("visitor", events.QUEUE_POSITION, "queue_position", events.queue_position("c_1", 2, None), set()),
    ("visitor", events.MESSAGE_NEW, "message_view", events.message_view(MESSAGE), set()),
    ("visitor", events.TYPING, "staff_typing", events.staff_typing("c_1", True), set()),
    *(
        ("visitor", events.CHAT_ENDED, "visitor_chat_ended", events.visitor_chat_ended("c_1", reason), set())
        for reason in (*EndReason, events.RESUMED_ELSEWHERE, events.STATE_LOST)
    ),
    ("staff", events.CHAT_ASSIGNED, "staff_view", STAFF_VIEW, set()),
    ("staff", events.CHAT_ASSIGNED, "chat_assigned", events.chat_assigned(STAFF_VIEW), set()),
    ("staff", events.CHAT_ASSIGNED, "chat_assigned",
     events.chat_assigned(STAFF_VIEW, {"staff_id": 2, "alias": "Leo"}), {"transferred_by"}),
    ("staff", events.CHAT_ASSIGNED, "chat_assigned",
     {**STAFF_VIEW, "second": events.second_view(2, "Leo", "responder"), "invited_by": {"staff_id": 1, "alias": "A"}},
     {"second", "invited_by"}),
    *(
        ("staff", events.CHAT_SECOND, "chat_second",
         events.chat_second("c_1", change, events.second_view(2, "Leo", "listener"), reason), set())
        for change, reason in (
            (events.SECOND_JOINED, events.SECOND_INVITED), (events.SECOND_LEFT, events.SECOND_LEFT),
            (events.SECOND_LEFT, events.CHAT_ENDED_REASON), (events.SECOND_LEFT, events.REQUEUED),
            (events.SECOND_LEFT, events.SECOND_DISCONNECTED),
        )
    ),
    *(
        ("staff", event, "debrief_view", events.debrief_view(Debrief("d1", 1, "Aino", T0)), set())
        for event in (events.DEBRIEF_REQUESTED, events.DEBRIEF_DONE)
    ),
    ("staff", events.MESSAGE_NEW, "staff_message_view", events.staff_message_view(MESSAGE), set()),
    ("staff", events.MESSAGE_NEW, "staff_message_view", events.staff_message_view(STAFF_MESSAGE), set()),
    ("staff", events.TYPING, "visitor_typing", events.visitor_typing("c_1", False), set()),
    ("staff", events.CHAT_PRESENCE, "chat_presence", events.chat_presence("c_1", False), set()),
    ("staff", events.CHAT_LANGUAGE, "chat_language", events.chat_language("c_1", "th"), set()),
    *(
        ("staff", events.CHAT_ENDED, "staff_chat_ended", events.staff_chat_ended("c_1", reason), set())
        for reason in EndReason
    ),
    ("staff", events.CHAT_REMOVED, "chat_removed", events.chat_removed("c_1", events.TAGGED), set()),
    ("staff", events.DUTY_ROSTER, "duty_roster", events.duty_roster(ROSTER), set()),
    ("staff", events.DUTY_ROSTER, "duty_roster", events.duty_roster(ROSTER, [ON_CALL]), set()),
    ("staff", events.QUEUE_UPDATE, "queue_update", events.queue_update(ENTRIES), set()),
    ("staff", events.DUTY_STATE, "duty_state", events.duty_state(True, T0), set()),
    ("staff", events.DUTY_STATE, "duty_state", events.duty_state(True, T0, T0, events.RECONNECTED), {"reason"}),
    ("staff", events.DUTY_ALERT, "unstaffed_alert", events.unstaffed_alert(chat(ChatState.WAITING), True), set()),
    ("staff", events.STAFF_RESYNC, "staff_resync", events.staff_resync(), set()),
    ("staff", events.DUTY_WARNING, "shift_ended_warning", events.shift_ended_warning("c_1"), set()),
    ("staff", events.THREAD_ENTRY, "thread_entry", events.thread_entry(THREAD_ENTRY, THREAD_MEMBERS), set()),
    ("staff", events.THREAD_CLOSED, "thread_closed", events.thread_closed("c_1"), set()),
    ("staff", events.HELP_ALARM, "help_alarm", events.help_alarm(ALARM), set()),
    ("staff", events.HELP_ANSWERED, "help_answered", events.help_answered(ALARM), set()),
    ("staff", events.CHAT_FLAGGED, "chat_flagged", events.chat_flagged("c_1", "other", "fi", 1, "Aino", T0), set()),
]


@pytest.mark.parametrize(("namespace", "event", "builder", "payload", "extra"), CASES)
def test_builder_keys_match_the_document(
    namespace: str, event: str, builder: str, payload: Any, extra: set[str]
) -> None:
    table = VISITOR_TABLE if namespace == "visitor" else STAFF_TABLE
    assert event in table, f"{event} is not in the /{namespace} server → client table"
    assert set(payload) == documented_keys(table[event]) | extra, f"{builder} for {event}"
    json.dumps(payload)  # every payload is plain JSON


def test_nested_objects_match_the_document() -> None:
    assert set(ENTRIES[0]) == shared_object("QueueEntry")
    assert set(DESK) == shared_object("Desk")
    assert set(events.duty_state(True, T0)) == shared_object("DutyState")
    assert set(ROSTER[0]) == shared_object("RosterEntry")
    assert set(ON_CALL) == shared_object("OnCallEntry")
    assert set(events.help_alarm(ALARM)) == shared_object("HelpAlarm")
    assert set(events.debrief_view(Debrief("d1", 1, "Aino", T0))) == shared_object("Debrief")
    assert set(THREAD) == shared_object("Thread")
    assert set(THREAD["entries"][0]) == shared_object("ThreadEntry")
    assert set(THREAD_MEMBERS[0]) == shared_object("ThreadMember")
    assert set(THREAD["entries"][0]["author"]) == shared_object("ThreadMember")
    assert set(STAFF_VIEW["messages"][0]) == shared_object("StaffMessage")
    assert shared_object("StaffMessage") == shared_object("Message") | {"author"}
    assert events.staff_message_view(STAFF_MESSAGE)["author"] == {"staff_id": 1, "alias": "Aino"}
    assert events.staff_message_view(MESSAGE)["author"] is None
    sync = re.search(r"```json\n(\{\n  \"ok\": true,.*?)```", section("`staff:sync`"), re.S)
    assert sync, "no staff:sync ack example"
    assert top_level_keys(sync.group(1)) - {"ok"} == set(typing.get_type_hints(events.StaffSync))
    staff = re.search(r'"staff": (\{.*?\})', sync.group(1))
    assert staff, "no staff object in the staff:sync ack example"
    assert set(typing.get_type_hints(events.StaffIdentity)) == top_level_keys(staff.group(1))


def test_every_builder_is_checked() -> None:
    builders = {
        name for name, value in vars(events).items()
        if inspect.isfunction(value) and value.__module__ == events.__name__
    }
    assert builders == {case[2] for case in CASES} | {
        "queue_entries", "roster_entry", "desk_view", "thread_member", "thread_view", "on_call_entry",
        "debrief_view", "colleague_view", "second_view",
    }


def test_visitor_chat_ended_always_carries_every_key() -> None:
    blocked = events.visitor_chat_ended("c_1", EndReason.BLOCKED)
    assert blocked == {"chat_id": "c_1", "reason": "blocked", "next_opening": None, "feedback_ticket": None}


def constants() -> dict[str, str]:
    return {k: v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)}


CLIENT_EVENTS = {
    events.CHAT_START, events.CHAT_RESUME, events.MESSAGE_SEND, events.TYPING_SET, events.MESSAGES_FETCH,
    events.CHAT_END, events.STAFF_SYNC, events.DUTY_CHECK_IN, events.DUTY_CHECK_OUT, events.CHAT_TRANSFER,
    events.CHAT_BLOCK, events.CHAT_LANGUAGE, events.DUTY_PAUSE, events.DUTY_RESUME, events.CHAT_TAKE,
    events.THREAD_SEND, events.THREAD_FETCH, events.CHAT_FLAG, events.HELP_RAISE, events.HELP_ANSWER,
    events.DEBRIEF_REQUEST, events.CHAT_INVITE, events.CHAT_LEAVE,
}
SERVER_EVENTS = {
    events.MESSAGE_NEW, events.TYPING, events.CHAT_ENDED, events.CHAT_STATE, events.QUEUE_POSITION,
    events.CHAT_ASSIGNED, events.CHAT_PRESENCE, events.CHAT_REMOVED, events.DUTY_ROSTER, events.QUEUE_UPDATE,
    events.DUTY_STATE, events.STAFF_RESYNC, events.DUTY_WARNING, events.CHAT_LANGUAGE, events.DUTY_ALERT,
    events.THREAD_ENTRY, events.THREAD_CLOSED, events.CHAT_FLAGGED, events.HELP_ALARM, events.HELP_ANSWERED,
    events.CHAT_SECOND, events.DEBRIEF_REQUESTED, events.DEBRIEF_DONE,
}


def test_every_event_name_is_documented() -> None:
    headings = set(re.findall(r"^#### `([^`]+)`", DOC, re.M))
    assert CLIENT_EVENTS <= headings, CLIENT_EVENTS - headings
    assert set(VISITOR_TABLE) | set(STAFF_TABLE) == SERVER_EVENTS
    names = {v for k, v in constants().items() if not k.endswith("_NAMESPACE")}
    reasons = names - CLIENT_EVENTS - SERVER_EVENTS
    # A reason or code is documented as `name`, or as "name" inside a payload.
    undocumented = sorted(r for r in reasons if f"`{r}`" not in DOC and f'"{r}"' not in DOC)
    assert not undocumented, undocumented
    for namespace in (events.VISITOR_NAMESPACE, events.STAFF_NAMESPACE):
        assert f"`{namespace}`" in DOC


def test_visitor_notifier_never_takes_a_staff_payload() -> None:
    staff_only = {
        events.StaffChatView, events.VisitorTyping, events.ChatPresence, events.StaffChatEnded, events.ChatRemoved,
        events.DutyState, events.DutyWarning, events.DutyRoster, events.QueueUpdate,
        events.ThreadEntryView, events.ThreadClosed, events.ThreadView, events.ThreadMember,
        events.ChatSecond, events.SecondView,
    }
    for name, method in inspect.getmembers(VisitorNotifier, inspect.isfunction):
        hints = typing.get_type_hints(method, vars(events) | {"events": events})
        assert not staff_only & set(hints.values()), name
    for name, method in inspect.getmembers(StaffNotifier, inspect.isfunction):
        hints = typing.get_type_hints(method, vars(events) | {"events": events})
        assert not {events.ChatStateView, events.QueuePosition, events.StaffTyping, events.VisitorChatEnded} & set(
            hints.values()
        ), name
