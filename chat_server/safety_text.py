"""The organisation's safety text: per language, plain text whose links and phone numbers become links.

Managers write it (emergency number, helpline, walk-in hours); the widget shows it
on the closed and ended screens and behind "Other help". The markup is plain text
(docs/protocol.md, Safety text): `https://` and `http://` URLs whose host is on the
link allow-list, international phone numbers (`+358 9 123 4567`) and `tel:` numbers
(`tel:112`) become links; nothing else is markup, and `<` or `>` are refused so that
nobody mistakes it for HTML. The server parses it into segments; pages only place
the segments' text with DOM text nodes.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db import SafetyTextRow

MAX_SAFETY_TEXT_LENGTH = 1000
MAX_SAFETY_TEXT_LINES = 20
# How long a worker answers the texts from memory: every widget load asks for them. A change made on another
# worker shows here within this time (browsers may keep the answer 60 s anyway).
CACHE_SECONDS = 10.0

# The same URL form as the message renderer (static/shared/thread.js), trailing punctuation left out.
_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = re.compile(r"[.,;:!?'\")\]}>]+$")
# tel: and 3 to 15 digits, optionally after +; or + and 7 to 15 digits in groups split by one space or hyphen.
_TEL = re.compile(r"\btel:(\S*)", re.IGNORECASE)
_TEL_NUMBER = re.compile(r"\+?[0-9]{3,15}")
_INTERNATIONAL = re.compile(r"(?<![\w+])\+[0-9](?:[ -]?[0-9]){6,14}(?![\w])")

# Line breaks, and the zero-width (non-)joiners some scripts need; other control or format characters
# (bidirectional overrides among them) could make a link look like another.
_ALLOWED_CONTROLS = frozenset("\n\u200c\u200d")

SegmentKind = Literal["text", "link", "phone"]


class SafetyTextInvalid(Exception):
    """A safety text the markup refuses, with its documented code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    text: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class SafetyText:
    language: str
    body: str
    updated_at: datetime


def normalise(body: str) -> str:
    """The stored form: Unicode NFC, LF line ends, no trailing spaces on lines, trimmed."""
    text = unicodedata.normalize("NFC", body.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def check(body: str, hosts: tuple[str, ...]) -> str:
    """Answer the normalised body, or raise SafetyTextInvalid (the message never repeats the text)."""
    text = normalise(body)
    if not text:
        raise SafetyTextInvalid(errors.INVALID_REQUEST, "body: the text is empty")
    if len(text) > MAX_SAFETY_TEXT_LENGTH:
        raise SafetyTextInvalid(errors.INVALID_REQUEST, f"body: at most {MAX_SAFETY_TEXT_LENGTH} characters")
    if text.count("\n") >= MAX_SAFETY_TEXT_LINES:
        raise SafetyTextInvalid(errors.INVALID_REQUEST, f"body: at most {MAX_SAFETY_TEXT_LINES} lines")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") and c not in _ALLOWED_CONTROLS for c in text):
        raise SafetyTextInvalid(errors.INVALID_REQUEST, "body: control and format characters are not allowed")
    if "<" in text or ">" in text:
        raise SafetyTextInvalid(errors.MARKUP_NOT_ALLOWED, "body: plain text only; < and > are not allowed")
    segments(text, hosts, strict=True)
    return text


def _link_href(candidate: str, hosts: tuple[str, ...]) -> str | None:
    try:
        url = urlsplit(candidate)
        port = url.port
    except ValueError:
        return None
    host = (url.hostname or "").rstrip(".")
    if url.scheme.lower() not in ("http", "https") or url.username or url.password or port is not None:
        return None
    return candidate if host in hosts else None


def segments(text: str, hosts: tuple[str, ...], *, strict: bool = False) -> list[Segment]:
    """Split stored text into text, link and phone segments.

    strict (saving): a link not on the allow-list or a bad tel: number is an error.
    Otherwise (serving) such a part stays text, e.g. after the allow-list changed.
    """
    found: list[tuple[int, int, Segment]] = []
    for match in _URL.finditer(text):
        candidate = _TRAILING.sub("", match.group(0))
        href = _link_href(candidate, hosts)
        if href is None:
            if strict:
                raise SafetyTextInvalid(
                    errors.LINK_NOT_ALLOWED,
                    "body: a link's host is not on the link allow-list (or it has a port or user info)",
                )
            continue
        found.append((match.start(), match.start() + len(candidate), Segment("link", candidate, href)))
    taken = [(start, end) for start, end, _ in found]

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for match in _TEL.finditer(text):
        number = _TRAILING.sub("", match.group(1))
        if not _TEL_NUMBER.fullmatch(number):
            if strict and free(match.start(), match.end()):
                raise SafetyTextInvalid(
                    errors.INVALID_PHONE_NUMBER, "body: tel: takes 3 to 15 digits, optionally after +"
                )
            continue
        end = match.start(1) + len(number)
        if free(match.start(), end):
            found.append((match.start(), end, Segment("phone", number, f"tel:{number}")))
            taken.append((match.start(), end))
    for match in _INTERNATIONAL.finditer(text):
        if free(match.start(), match.end()):
            digits = re.sub(r"[ -]", "", match.group(0))
            found.append((match.start(), match.end(), Segment("phone", match.group(0), f"tel:{digits}")))
            taken.append((match.start(), match.end()))
    found.sort(key=lambda item: item[0])
    result: list[Segment] = []
    last = 0
    for start, end, segment in found:
        if start > last:
            result.append(Segment("text", text[last:start]))
        result.append(segment)
        last = end
    if last < len(text):
        result.append(Segment("text", text[last:]))
    return result


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None, microsecond=0)


class SafetyTexts:
    """Reads and writes the safety_texts table (one row per language)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._cached: tuple[float, list[SafetyText]] | None = None
        # Counts this worker's writes: a read that overlapped one does not fill the cache with what it replaced.
        self._writes = 0

    async def all(self) -> list[SafetyText]:
        if self._cached is not None and time.monotonic() < self._cached[0]:
            return list(self._cached[1])
        writes = self._writes
        async with self._sessions() as session:
            rows = await session.scalars(select(SafetyTextRow).order_by(SafetyTextRow.language))
            texts = [SafetyText(r.language, r.body, r.updated_at.replace(tzinfo=UTC)) for r in rows]
        if writes == self._writes:
            self._cached = (time.monotonic() + CACHE_SECONDS, texts)
        return list(texts)

    async def put(self, language: str, body: str, now: datetime) -> SafetyText:
        self._writes += 1
        async with self._sessions.begin() as session:
            row = await session.get(SafetyTextRow, language)
            if row is None:
                row = SafetyTextRow(language=language, body=body, updated_at=_naive(now))
                session.add(row)
            else:
                row.body, row.updated_at = body, _naive(now)
        self._writes += 1
        self._cached = None
        return SafetyText(language, body, _naive(now).replace(tzinfo=UTC))

    async def delete(self, language: str) -> bool:
        self._writes += 1
        async with self._sessions.begin() as session:
            row = await session.get(SafetyTextRow, language)
            if row is None:
                return False
            await session.delete(row)
        self._writes += 1
        self._cached = None
        return True
