"""What every part of the chat domain shares: its dependencies and this worker's push memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from chat_server.chat.events import DeskView, DutyRoster, QueueEntry
from chat_server.chat.notifier import Notifier
from chat_server.clock import Clock
from chat_server.settings import ChatSettings, LimitSettings, RosterSettings
from chat_server.store.base import ChatStore
from roster.repository import RosterCache


@dataclass(frozen=True, slots=True)
class ChatContext:
    """The chat domain's dependencies, injected once by the composition root."""

    store: ChatStore
    roster: RosterCache
    clock: Clock
    notifier: Notifier
    settings: ChatSettings
    roster_settings: RosterSettings
    # Flood limits (docs/deploy.md); the defaults when a test builds the service alone.
    limits: LimitSettings = field(default_factory=LimitSettings)

    @property
    def early(self) -> timedelta:
        """How long before a shift starts its member may check in."""
        return timedelta(minutes=self.roster_settings.check_in_early_minutes)


@dataclass(slots=True)
class PushMemory:
    """What this worker last told clients, so that it tells only changes (lost with the store)."""

    # Queue position last pushed to each waiting visitor.
    positions: dict[str, int] = field(default_factory=dict)
    # What each waiting visitor was last told about their language's desk (None: answered).
    desks: dict[str, DeskView | None] = field(default_factory=dict)
    queue: list[QueueEntry] | None = None
    roster: DutyRoster | None = None
    # Whether each member was last told they are on shift.
    on_shift: dict[int, bool] = field(default_factory=dict)
    # Chats whose member was warned that nobody could take them at shift end.
    warned: set[str] = field(default_factory=set)

    def forget_chat(self, chat_id: str) -> None:
        self.positions.pop(chat_id, None)
        self.desks.pop(chat_id, None)
        self.warned.discard(chat_id)

    def clear(self) -> None:
        self.positions.clear()
        self.desks.clear()
        self.queue = None
        self.roster = None
        self.on_shift.clear()
        self.warned.clear()
