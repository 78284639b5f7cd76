"""Pydantic types and models shared by the HTTP API: request fields, reply objects, the error body.

Request models forbid unknown fields and are strict (JSON types as sent); query
models accept the strings a query string carries. Checks that depend on
settings (offered languages, message length) read the validation context that
`chat_server.web.parsing` passes in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
)

from chat_server.accounts import MAX_CHATS_LIMIT, StaffAccount
from chat_server.web.responses import STATUS

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}")


class Body(BaseModel):
    """A JSON request body: exactly the documented fields, with their JSON types."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_by_name=True)


class Query(BaseModel):
    """Query parameters (strings converted to the field's type); unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True)


class StrictQuery(Query):
    """Query parameters where an unknown parameter is an error."""

    model_config = ConfigDict(extra="forbid")


class Path(BaseModel):
    """Path parameters (the route pattern has already matched their form)."""

    model_config = ConfigDict(frozen=True)


class Reply(BaseModel):
    """A JSON reply: every documented key, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True)


# Dates the API takes: far enough from date.min and date.max that a day or a time
# zone either side, or a previous period, never overflows (year 1 and 9999 did).
FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(2999, 12, 31)


def _iso_date(value: object) -> date:
    parsed: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            pass
    if parsed is None:
        raise ValueError("must be a date YYYY-MM-DD")
    if not FIRST_DATE <= parsed <= LAST_DATE:
        raise ValueError(f"must be a date from {FIRST_DATE} to {LAST_DATE}")
    return parsed


def _local_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _TIME.fullmatch(value):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("must be a local time HH:MM")


def _offered(value: str, info: ValidationInfo) -> str:
    offered = (info.context or {}).get("languages")
    if offered is not None and value not in offered:
        raise ValueError(f"only {', '.join(offered)} are offered")
    return value


def _within_message_length(value: str, info: ValidationInfo) -> str:
    limit = (info.context or {}).get("max_message_length")
    if limit is not None and len(value) > limit:
        raise ValueError(f"at most {limit} characters (chat.max_message_length)")
    return value


def utc(instant: datetime) -> str:
    """An instant as the API writes it: ISO 8601 UTC, whole seconds, Z."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# The one date parser of the API: exactly YYYY-MM-DD (a local date).
IsoDate = Annotated[
    date,
    PlainValidator(_iso_date, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "format": "date", "description": f"from {FIRST_DATE} to {LAST_DATE}"}),
]
# A local wall-clock time, exactly HH:MM.
LocalTime = Annotated[
    time,
    PlainValidator(_local_time, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$"}),
]
OfferedLanguage = Annotated[StrictStr, Field(min_length=1, max_length=16), AfterValidator(_offered)]
# A list of offered language codes; duplicates are dropped.
OfferedLanguages = Annotated[list[OfferedLanguage], Field(max_length=32), AfterValidator(_unique)]
Note = Annotated[StrictStr, Field(max_length=500)]
# Text whose surrounding white space is dropped, then 1 to chat.max_message_length characters.
MessageLengthText = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, min_length=1),
    Field(json_schema_extra={"description": "at most chat.max_message_length characters, after trimming"}),
    AfterValidator(_within_message_length),
]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
# A path id: the route pattern allows 1 to 9 digits; an id nobody has is 404, like any unknown one.
PathId = int

# In replies.
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
DateText = Annotated[str, Field(json_schema_extra={"format": "date"})]
HourMinute = Annotated[str, Field(pattern=r"^[0-9]{2}:[0-9]{2}$")]
RoleName = Literal["staff", "manager", "admin", "peer"]


class EmptyBody(Body):
    """An action that takes no fields: no body, or `{}`."""


class Ok(Reply):
    ok: Literal[True] = True


class Staff(Reply):
    id: int
    username: str
    display_name: str
    alias: str
    role: RoleName
    languages: list[str]
    max_chats: Annotated[int, Field(ge=1, le=MAX_CHATS_LIMIT)]

    @classmethod
    def of(cls, account: StaffAccount) -> Staff:
        return cls.model_validate(account.public())


class StaffEntry(Staff):
    disabled: bool

    @classmethod
    def of(cls, account: StaffAccount) -> StaffEntry:
        return cls.model_validate(account.public() | {"disabled": account.disabled})


class ErrorDetail(Reply):
    code: Annotated[str, Field(json_schema_extra={"enum": sorted(STATUS)})]
    message: str


class Error(Reply):
    error: ErrorDetail


__all__ = [
    "Body", "EmptyBody", "Error", "HourMinute", "Id", "Instant", "IsoDate", "LocalTime", "Note", "OfferedLanguage",
    "OfferedLanguages", "Ok", "Path", "Query", "Reply", "RoleName", "Staff", "StaffEntry", "StrictBool", "StrictInt",
    "StrictQuery", "StrictStr",
]
