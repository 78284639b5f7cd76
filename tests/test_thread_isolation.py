"""By construction, no visitor code path can emit a staff-only event (DESIGN principle 6).

The colleague thread (and hand-over notes, its `handover` entries) has its own
event names and payload types; this test reads the source to show that they
appear only on the staff side, and that the one way to a visitor room refuses
any name outside the visitor vocabulary.
"""

from __future__ import annotations

import ast
import inspect
import re
import typing
from pathlib import Path

import pytest

from chat_server.chat import events
from chat_server.chat.notifier import VisitorNotifier
from chat_server.realtime import notifier as socket_notifier
from chat_server.realtime.notifier import SocketNotifier
from chat_server.realtime.visitor import VisitorNamespace
from tests.test_events_contract import VISITOR_TABLE

ROOT = Path(__file__).resolve().parent.parent
THREAD_NAMES = {"THREAD_SEND", "THREAD_FETCH", "THREAD_ENTRY", "THREAD_CLOSED", "STAFF_ONLY_EVENTS"}
THREAD_BUILDERS = {"thread_entry", "thread_closed", "thread_view", "thread_member"}
THREAD_TYPES = {events.ThreadEntryView, events.ThreadClosed, events.ThreadView, events.ThreadMember}
# The only modules that may name the thread's events or builders: its domain module, the vocabulary,
# the staff side of the notifier protocol and its socket implementation, the /staff namespace.
ALLOWED = {
    "chat_server/chat/thread.py", "chat_server/chat/events.py", "chat_server/chat/notifier.py",
    "chat_server/realtime/notifier.py", "chat_server/realtime/staff.py",
}


def names_used(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("thread:"):
            found.add(node.value)
    return found


def test_the_visitor_vocabulary_is_the_documented_one_and_shares_nothing_with_the_thread() -> None:
    assert set(VISITOR_TABLE) == events.VISITOR_SERVER_EVENTS
    assert not events.STAFF_ONLY_EVENTS & events.VISITOR_SERVER_EVENTS
    assert {n for n in events.STAFF_ONLY_EVENTS if n.startswith("thread:")} == {
        events.THREAD_SEND, events.THREAD_FETCH, events.THREAD_ENTRY, events.THREAD_CLOSED,
    }


def test_only_staff_modules_name_the_thread() -> None:
    offenders = []
    for path in sorted((ROOT / "chat_server").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        used = names_used(ast.parse(path.read_text()))
        thread_events = {e for e in events.STAFF_ONLY_EVENTS if e.startswith("thread:")}
        thread_words = used & (THREAD_NAMES | THREAD_BUILDERS | thread_events) | {
            n for n in used if n.startswith("thread:")
        }
        if thread_words and relative not in ALLOWED:
            offenders.append(f"{relative}: {sorted(thread_words)}")
    assert not offenders, offenders
    visitor_source = (ROOT / "chat_server/realtime/visitor.py").read_text().lower()
    assert "thread" not in visitor_source
    # Nor does the widget know the names (it could not even listen for them).
    # static/shared is loaded by the widget too: the thread's client code lives in static/console only.
    for path in [*(ROOT / "static/widget").rglob("*.js"), *(ROOT / "static/shared").rglob("*.js")]:
        assert not re.search(r"[\"'`]thread:", path.read_text()), path


def test_every_emit_of_a_thread_event_goes_to_a_staff_room() -> None:
    tree = ast.parse(inspect.getsource(socket_notifier))
    methods = [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)]
    carrying = [m for m in methods if names_used(m) & {"THREAD_ENTRY", "THREAD_CLOSED"}]
    assert {m.name for m in carrying} == {"staff_thread_entry", "staff_thread_closed"}
    for method in carrying:
        calls = {
            c.func.attr for c in ast.walk(method) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
        }
        assert calls == {"_to_staff"}, (method.name, calls)


def test_no_visitor_method_takes_a_thread_payload() -> None:
    for name, method in inspect.getmembers(VisitorNotifier, inspect.isfunction):
        hints = typing.get_type_hints(method, vars(events) | {"events": events})
        assert not THREAD_TYPES & set(hints.values()), name


def test_the_visitor_namespace_handles_no_thread_event() -> None:
    handled = set(VisitorNamespace.__init__.__code__.co_names)
    assert not handled & THREAD_NAMES


@pytest.mark.parametrize("event", sorted(events.STAFF_ONLY_EVENTS | {events.DUTY_ALERT, events.CHAT_ASSIGNED}))
async def test_the_way_to_a_visitor_room_refuses_a_staff_event(event: str) -> None:
    with pytest.raises(ValueError, match="not a visitor event"):
        await SocketNotifier()._to_visitor("c_1", event, {"chat_id": "c_1"})


@pytest.mark.parametrize("event", sorted(events.STAFF_ONLY_EVENTS | {events.DUTY_ALERT, events.CHAT_ASSIGNED}))
async def test_emits_sent_together_refuse_a_staff_event_to_a_visitor_room(event: str) -> None:
    # A message's two copies go out together (one Redis publish); the visitor one keeps the same rule.
    with pytest.raises(ValueError, match="not a visitor event"):
        await SocketNotifier()._emit_together([
            (events.MESSAGE_NEW, {"chat_id": "c_1"}, events.STAFF_NAMESPACE, "staff:1"),
            (event, {"chat_id": "c_1"}, events.VISITOR_NAMESPACE, "chat:c_1"),
        ])
