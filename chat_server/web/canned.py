"""HTTP API of canned responses: staff read them, managers and admins write them."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.canned import MAX_TITLE_LENGTH, Canned
from chat_server.keys import canned_key, clock_key
from chat_server.web.responses import ApiError
from chat_server.web.schemas import (
    Body,
    Instant,
    MessageLengthText,
    OfferedLanguage,
    Ok,
    Path,
    PathId,
    Reply,
    StrictQuery,
    StrictStr,
    utc,
)

Trimmed = StringConstraints(strip_whitespace=True)


class CannedFields(Body):
    """A whole canned response; title and body are stored trimmed."""

    language: OfferedLanguage
    title: Annotated[StrictStr, Trimmed, Field(min_length=1, max_length=MAX_TITLE_LENGTH)]
    body: MessageLengthText


class CannedQuery(StrictQuery):
    language: OfferedLanguage | None = None


class CannedPath(Path):
    canned_id: PathId


class CannedResponse(Reply):
    id: int
    language: str
    title: str
    body: str
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, canned: Canned) -> CannedResponse:
        return cls(
            id=canned.id, language=canned.language, title=canned.title, body=canned.body,
            created_at=utc(canned.created_at), updated_at=utc(canned.updated_at),
        )


class CannedList(Reply):
    canned_responses: list[CannedResponse]


class OneCanned(Reply):
    canned_response: CannedResponse


def _missing() -> ApiError:
    return ApiError(errors.NOT_FOUND, "No such canned response.")


async def list_canned(request: web.Request, me: StaffAccount, query: CannedQuery) -> CannedList:
    """Answer the canned responses, all or of one language."""
    items = await request.app[canned_key].list(query.language)
    return CannedList(canned_responses=[CannedResponse.of(c) for c in items])


async def create_canned(request: web.Request, me: StaffAccount, body: CannedFields) -> OneCanned:
    """Add a canned response (managers)."""
    canned = await request.app[canned_key].add(body.language, body.title, body.body, request.app[clock_key].now())
    return OneCanned(canned_response=CannedResponse.of(canned))


async def change_canned(request: web.Request, me: StaffAccount, params: CannedPath, body: CannedFields) -> OneCanned:
    """Replace a canned response (managers)."""
    canned = await request.app[canned_key].change(
        params.canned_id, body.language, body.title, body.body, request.app[clock_key].now()
    )
    if canned is None:
        raise _missing()
    return OneCanned(canned_response=CannedResponse.of(canned))


async def delete_canned(request: web.Request, me: StaffAccount, params: CannedPath) -> Ok:
    """Delete a canned response (managers)."""
    if not await request.app[canned_key].delete(params.canned_id):
        raise _missing()
    return Ok()
