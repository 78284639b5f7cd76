"""How the domain reaches connected clients: one typed method per server-to-client event.

The socket layer implements it (chat_server.realtime.notifier); unit tests use a
recording one. Visitor methods take only visitor payloads and staff methods only
staff payloads, so a staff-only word has no way to a visitor room (principle 6).
"""

from __future__ import annotations

from typing import Protocol

from chat_server.chat import events


class VisitorNotifier(Protocol):
    """Pushes to the visitor room of one chat (namespace /visitor)."""

    async def visitor_chat_state(self, chat_id: str, payload: events.ChatStateView) -> None: ...

    async def visitor_queue_position(self, chat_id: str, payload: events.QueuePosition) -> None: ...

    async def visitor_typing(self, chat_id: str, payload: events.StaffTyping) -> None: ...

    async def visitor_chat_ended(self, chat_id: str, payload: events.VisitorChatEnded) -> None: ...

    async def detach_visitor(self, sid: str, chat_id: str) -> None:
        """Tell a replaced visitor socket (on any worker) it no longer holds the chat."""


class StaffNotifier(Protocol):
    """Pushes to one staff member's sockets, or to every staff socket (namespace /staff)."""

    async def staff_chat_assigned(self, staff_id: int, payload: events.StaffChatView) -> None: ...

    async def staff_typing(self, staff_id: int, payload: events.VisitorTyping) -> None: ...

    async def staff_chat_presence(self, staff_id: int, payload: events.ChatPresence) -> None: ...

    async def staff_chat_language(self, staff_id: int, payload: events.ChatLanguage) -> None: ...

    async def staff_chat_ended(self, staff_id: int, payload: events.StaffChatEnded) -> None: ...

    async def staff_chat_removed(self, staff_id: int, payload: events.ChatRemoved) -> None: ...

    async def staff_duty_state(self, staff_id: int, payload: events.DutyState) -> None: ...

    async def staff_duty_warning(self, staff_id: int, payload: events.DutyWarning) -> None: ...

    async def staff_duty_alert(self, staff_id: int, payload: events.DutyAlert) -> None: ...

    async def managers_duty_alert(self, payload: events.DutyAlert) -> None:
        """Alert every manager and admin signed in to the staff console (the managers on call)."""

    async def all_staff_duty_roster(self, payload: events.DutyRoster) -> None: ...

    async def staff_thread_entry(self, staff_id: int, payload: events.ThreadEntryView) -> None:
        """An entry of a chat's private staff thread, to one member of it (never to a visitor)."""

    async def staff_thread_closed(self, staff_id: int, payload: events.ThreadClosed) -> None: ...

    async def staff_chat_flagged(self, staff_id: int, payload: events.ChatFlagged) -> None: ...

    async def managers_debrief(self, event: str, payload: events.DebriefView) -> None:
        """A debrief asked for (debrief:requested) or marked done (debrief:done), to every manager and admin."""

    async def staff_chat_second(self, staff_id: int, payload: events.ChatSecond) -> None:
        """A colleague joined or left a chat (chat:second), to one of its staff members."""

    async def staff_help_alarm(self, staff_id: int, payload: events.HelpAlarmView) -> None: ...

    async def managers_help_alarm(self, payload: events.HelpAlarmView) -> None: ...

    async def staff_help_answered(self, staff_id: int, payload: events.HelpAnswered) -> None: ...

    async def managers_help_answered(self, payload: events.HelpAnswered) -> None: ...

    async def managers_chat_flagged(self, payload: events.ChatFlagged) -> None:
        """Alert every manager and admin signed in to the console (no manager is planned on call)."""

    async def all_staff_queue_update(self, payload: events.QueueUpdate) -> None: ...


class Notifier(VisitorNotifier, StaffNotifier, Protocol):
    """Everything the chat service may tell clients, plus the two worker-wide signals."""

    async def message_new(self, chat_id: str, payload: events.MessageView, staff_id: int | None,
                          staff_payload: events.StaffMessageView, *, staff_first: bool,
                          also: int | None = None, workers: frozenset[str] | None = None) -> None:
        """A new message: `payload` to the chat's visitor room and, when the chat has a member,
        `staff_payload` to that member's sockets, in one go (with Redis: one publish for all).
        `staff_first`: the member's copy goes first (a staff message: the sender's own side first).
        `also`: a second member in the chat (chat:invite), whose copy goes last.
        `workers`: the workers holding those sockets (Sent.workers): with Redis the publish goes to
        them only (none when all are on this worker); None: to every worker."""

    async def state_lost(self) -> None:
        """Tell this worker's sockets that the chat store lost every live chat."""

    async def reattach(self) -> None:
        """This worker was taken for dead: register its local sockets in the store again."""
