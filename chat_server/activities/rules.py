"""What an activity entry may say, checked against the catalogue and the organisation's settings (pure)."""

from __future__ import annotations

from datetime import date

from chat_server import errors
from chat_server.activities.catalogue import TIMES, ActivityCatalogue
from chat_server.activities.repository import EntryFields

# A count above this is a typing slip, not a day's work.
MAX_COUNT = 100_000
EARLIEST_DAY = date(2000, 1, 1)


class ActivityRefused(Exception):
    """An entry the rules refuse, with its documented error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_entry(
    catalogue: ActivityCatalogue, fields: EntryFields, today: date, notes_enabled: bool, note_max_length: int,
) -> EntryFields:
    """The entry as stored (note trimmed, empty note dropped), or ActivityRefused."""
    kind = catalogue.type(fields.type)
    if kind is None or kind.retired:
        raise ActivityRefused(errors.UNKNOWN_ACTIVITY_TYPE, "No such activity type (see GET /api/activities/types).")
    if not EARLIEST_DAY <= fields.day <= today:
        raise ActivityRefused(errors.INVALID_REQUEST, "date: must not be in the future nor before 2000-01-01")
    if set(fields.counts) != set(kind.counts):
        raise ActivityRefused(errors.INVALID_REQUEST, f"counts: this type takes exactly {', '.join(kind.counts)}")
    for measure, value in fields.counts.items():
        low = 1 if measure == TIMES else 0
        if not low <= value <= MAX_COUNT:
            raise ActivityRefused(errors.INVALID_REQUEST, f"counts.{measure}: must be from {low} to {MAX_COUNT}")
    if fields.locality is None:
        if kind.locality == "required":
            raise ActivityRefused(errors.INVALID_REQUEST, "locality: this type records a locality")
    else:
        if kind.locality == "none":
            raise ActivityRefused(errors.INVALID_REQUEST, "locality: this type records no locality")
        place = catalogue.locality(fields.locality)
        if place is None or place.retired:
            raise ActivityRefused(errors.UNKNOWN_LOCALITY, "No such locality (see GET /api/activities/types).")
    note = fields.note.strip() if fields.note is not None else None
    if note:
        if not notes_enabled:
            raise ActivityRefused(errors.NOTES_DISABLED, "This organisation records no notes with activities.")
        if len(note) > note_max_length:
            raise ActivityRefused(errors.INVALID_REQUEST, f"note: at most {note_max_length} characters")
    return EntryFields(fields.day, fields.type, dict(fields.counts), fields.locality, note or None)
