"""Pure routing decisions: who takes the next chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    staff_id: int
    load: int
    max_chats: int
    # None sorts first: someone who never had a chat has waited longest.
    last_chat_at: datetime | None


def choose_staff(candidates: list[Candidate]) -> Candidate | None:
    """Pick the least-loaded candidate with free capacity; ties go to the longest idle."""
    free = [c for c in candidates if c.load < c.max_chats]
    if not free:
        return None
    return min(
        free,
        key=lambda c: (
            c.load,
            c.last_chat_at is not None,
            c.last_chat_at.timestamp() if c.last_chat_at else 0.0,
            c.staff_id,
        ),
    )


def queue_estimate_seconds(position: int, serving_staff: int, mean_chat_seconds: float) -> int | None:
    """Estimate the wait for a queue position; None when nobody is serving."""
    if position < 1 or serving_staff < 1:
        return None
    return int(round(position * mean_chat_seconds / serving_staff))
