"""HTTP API of the organisation's safety text: public to read, managers and admins write it."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from chat_server import errors
from chat_server.accounts import StaffAccount
from chat_server.keys import clock_key, safety_texts_key, settings_key
from chat_server.safety_text import MAX_SAFETY_TEXT_LENGTH, SafetyText, SafetyTextInvalid, check, segments
from chat_server.web.responses import ApiError
from chat_server.web.schemas import Body, Instant, OfferedLanguage, Ok, Path, Reply, StrictStr, utc

# Public and the same for every visitor: a browser or proxy may keep it this long (the API's other answers are
# no-store). A manager's change reaches widgets within this time.
CACHE_SECONDS = 60
# Room for white space that normalising drops; the limit that counts is checked after it.
MAX_RAW_LENGTH = 4 * MAX_SAFETY_TEXT_LENGTH


class SafetyTextFields(Body):
    """The whole text of one language, in the plain-text markup (docs/protocol.md, Safety text)."""

    body: Annotated[StrictStr, Field(max_length=MAX_RAW_LENGTH, json_schema_extra={
        "description": f"1 to {MAX_SAFETY_TEXT_LENGTH} characters after trimming; plain text, no < or >",
    })]


class SafetyTextPath(Path):
    language: OfferedLanguage


class Segment(Reply):
    kind: Literal["text", "link", "phone"]
    text: str
    # For link and phone: an http(s) URL on the link allow-list, or tel: and digits.
    href: str | None


class SafetyTextReply(Reply):
    language: str
    body: str
    segments: list[Segment]
    updated_at: Instant


class SafetyTexts(Reply):
    texts: dict[str, SafetyTextReply]


class OneSafetyText(Reply):
    safety_text: SafetyTextReply


def _reply(text: SafetyText, hosts: tuple[str, ...]) -> SafetyTextReply:
    return SafetyTextReply(
        language=text.language, body=text.body, updated_at=utc(text.updated_at),
        segments=[Segment(kind=s.kind, text=s.text, href=s.href) for s in segments(text.body, hosts)],
    )


async def list_safety_texts(request: web.Request) -> web.Response:
    """Answer the safety text of every offered language that has one (cacheable for a short time)."""
    settings = request.app[settings_key]
    hosts = settings.link_hosts
    texts = {
        t.language: _reply(t, hosts)
        for t in await request.app[safety_texts_key].all()
        if t.language in settings.chat.languages
    }
    response = web.json_response(SafetyTexts(texts=texts).model_dump(mode="json"))
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


async def put_safety_text(
    request: web.Request, me: StaffAccount, params: SafetyTextPath, body: SafetyTextFields
) -> OneSafetyText:
    """Replace one language's safety text (managers)."""
    hosts = request.app[settings_key].link_hosts
    try:
        text = check(body.body, hosts)
    except SafetyTextInvalid as exc:
        raise ApiError(exc.code, exc.message) from None
    saved = await request.app[safety_texts_key].put(params.language, text, request.app[clock_key].now())
    return OneSafetyText(safety_text=_reply(saved, hosts))


async def delete_safety_text(request: web.Request, me: StaffAccount, params: SafetyTextPath) -> Ok:
    """Remove one language's safety text (managers)."""
    if not await request.app[safety_texts_key].delete(params.language):
        raise ApiError(errors.NOT_FOUND, "This language has no safety text.")
    return Ok()
