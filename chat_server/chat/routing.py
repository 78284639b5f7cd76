"""Pure routing decisions: who takes the next chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from roster.schedule import Shift, speaks

__all__ = ["Candidate", "choose_staff", "choose_staff_for", "desk_members", "queue_estimate_seconds",
           "queue_places", "speaker_from", "speakers", "speaks"]


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


def speakers(
    candidates: list[Candidate], languages: dict[int, tuple[str, ...]], language: str
) -> list[Candidate]:
    """The candidates who speak `language`."""
    return [c for c in candidates if speaks(languages.get(c.staff_id, ()), language)]


def choose_staff_for(
    candidates: list[Candidate], languages: dict[int, tuple[str, ...]], language: str
) -> Candidate | None:
    """Pick, among the candidates who speak the chat's language, the one `choose_staff` would."""
    return choose_staff(speakers(candidates, languages, language))


def desk_members(
    candidates: list[Candidate], languages: dict[int, tuple[str, ...]], language: str, anyone: bool = False
) -> list[Candidate]:
    """Who may take a chat in `language`: the candidates who speak it.

    With `anyone` (the language's policy) and no speaker among the candidates, every candidate.
    """
    found = speakers(candidates, languages, language)
    return found if found or not anyone else list(candidates)


def queue_places(chat_languages: list[str], members: dict[str, frozenset[int]]) -> list[int]:
    """The place in line of each queued chat (front first), counting only the chats ahead that compete.

    A chat ahead competes when it is in the same language or one of the members who
    may take it (`members`, by language) may take this one too.
    """
    ahead: dict[str, int] = {}
    places = []
    for language in chat_languages:
        mine = members.get(language, frozenset())
        places.append(
            1 + sum(n for other, n in ahead.items() if other == language or mine & members.get(other, frozenset()))
        )
        ahead[language] = ahead.get(language, 0) + 1
    return places


def speaker_from(
    shifts: list[Shift], languages: dict[int, tuple[str, ...]], language: str, now: datetime, within: timedelta
) -> datetime | None:
    """The earliest time, from now up to `within` ahead, at which a shift of a speaker of `language` runs."""
    starts = [
        max(s.starts_at, now)
        for s in shifts
        if s.ends_at > now and s.starts_at <= now + within and speaks(languages.get(s.staff_id, ()), language)
    ]
    return min(starts, default=None)


def queue_estimate_seconds(position: int, serving_staff: int, mean_chat_seconds: float) -> int | None:
    """Estimate the wait for a queue position; None when nobody is serving."""
    if position < 1 or serving_staff < 1:
        return None
    return int(round(position * mean_chat_seconds / serving_staff))
