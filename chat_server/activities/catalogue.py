"""Activity types, their measures and the localities, from config/activities.toml and config/localities.toml.

The same rules as the topic taxonomy (chat_server/topics.py): stable ASCII
codes, a label in every language, retired but never removed or reused; the
codes are mirrored into the activity_types and localities tables so that an
entry can only name a code that exists.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.activities.models import ActivityTypeRow, LocalityRow

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
TIMES = "times"
LOCALITY_RULES = ("required", "optional", "none")
LOCALITY_KINDS = ("municipality", "region")
# The placeholder of a summary sentence for a type's distinct localities.
LOCALITIES = "localities"

LocalityRule = Literal["required", "optional", "none"]


class CatalogueError(ValueError):
    """activities.toml or localities.toml is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class MeasureDef:
    code: str
    labels: dict[str, str]
    # A count of contacts or people: hidden by the small-number rule.
    people: bool


@dataclass(frozen=True, slots=True)
class ActivityTypeDef:
    code: str
    labels: dict[str, str]
    counts: tuple[str, ...]
    locality: LocalityRule
    visit: bool
    summary: dict[str, str]
    retired: bool


@dataclass(frozen=True, slots=True)
class LocalityDef:
    code: str
    kind: str
    names: dict[str, str]
    retired: bool

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["fi"]


def _label(labels: dict[str, str], language: str) -> str:
    return labels.get(language) or labels["en"]


@dataclass(frozen=True)
class ActivityCatalogue:
    measures: tuple[MeasureDef, ...]
    types: tuple[ActivityTypeDef, ...]
    localities: tuple[LocalityDef, ...]

    def type(self, code: str) -> ActivityTypeDef | None:
        return next((t for t in self.types if t.code == code), None)

    def locality(self, code: str) -> LocalityDef | None:
        return next((loc for loc in self.localities if loc.code == code), None)

    def measure(self, code: str) -> MeasureDef:
        return next(m for m in self.measures if m.code == code)

    def describe(self, language: str, notes: bool, note_max_length: int) -> dict[str, Any]:
        """The catalogue as GET /api/activities/types answers it (retired codes left out)."""
        return {
            "measures": [{"code": m.code, "label": _label(m.labels, language), "people": m.people}
                         for m in self.measures],
            "types": [
                {"code": t.code, "label": _label(t.labels, language), "counts": list(t.counts),
                 "locality": t.locality, "visit": t.visit}
                for t in self.types if not t.retired
            ],
            "localities": [{"code": loc.code, "kind": loc.kind, "name": loc.name(language)}
                           for loc in self.localities if not loc.retired],
            "notes": notes,
            "note_max_length": note_max_length,
        }


def _labels(where: str, raw: Any, required: set[str]) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v.strip() for v in raw.values()):
        raise CatalogueError(f"{where}: labels must be a table of non-empty strings")
    missing = required - set(raw)
    if missing:
        raise CatalogueError(f"{where} lacks labels for {sorted(missing)}")
    return dict(raw)


def _code(where: str, raw: Any, seen: set[str]) -> str:
    if not isinstance(raw, str) or not _CODE.match(raw):
        raise CatalogueError(f"{where} code {raw!r} is not a lower-case identifier")
    if raw in seen:
        raise CatalogueError(f"{where} code {raw} appears twice")
    seen.add(raw)
    return raw


def _fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise CatalogueError(f"summary sentence {template!r}: {exc}") from None


def load_catalogue(activities: Path, localities: Path, languages: tuple[str, ...]) -> ActivityCatalogue:
    """Read and check both files: unique codes, labels in every language, sentences naming only known counts."""
    with activities.open("rb") as fh:
        data = tomllib.load(fh)
    with localities.open("rb") as fh:
        places = tomllib.load(fh)
    required = set(languages) | {"en"}
    seen: set[str] = set()
    measures = []
    for raw in data.get("measure", []):
        code = _code("measure", raw.get("code"), seen)
        measures.append(MeasureDef(code, _labels(f"measure {code}", raw.get("label"), required),
                                   bool(raw.get("people", False))))
    known = {m.code for m in measures}
    if TIMES not in known:
        raise CatalogueError("the measure 'times' must be defined")
    seen = set()
    types = []
    for raw in data.get("type", []):
        code = _code("type", raw.get("code"), seen)
        counts = raw.get("counts", [])
        if not isinstance(counts, list) or TIMES not in counts or len(set(counts)) != len(counts):
            raise CatalogueError(f"type {code}: counts must list 'times' and other measures once each")
        unknown = set(counts) - known
        if unknown:
            raise CatalogueError(f"type {code} takes unknown measures {sorted(unknown)}")
        locality = raw.get("locality", "none")
        if locality not in LOCALITY_RULES:
            raise CatalogueError(f"type {code}: locality must be one of {LOCALITY_RULES}")
        summary = raw.get("summary", {})
        if not isinstance(summary, dict) or not all(isinstance(v, str) for v in summary.values()):
            raise CatalogueError(f"type {code}: summary must be a table of sentences per language")
        allowed = set(counts) | ({LOCALITIES} if locality != "none" else set())
        for lang, sentence in summary.items():
            extra = _fields(sentence) - allowed
            if extra:
                raise CatalogueError(f"type {code} summary.{lang} names {sorted(extra)}, not among {sorted(allowed)}")
        types.append(ActivityTypeDef(
            code, _labels(f"type {code}", raw.get("label"), required), tuple(counts), locality,
            bool(raw.get("visit", False)), dict(summary), bool(raw.get("retired", False)),
        ))
    if not types:
        raise CatalogueError("no activity types defined")
    seen = set()
    found = []
    for raw in places.get("locality", []):
        code = _code("locality", raw.get("code"), seen)
        kind = raw.get("kind")
        if kind not in LOCALITY_KINDS:
            raise CatalogueError(f"locality {code}: kind must be one of {LOCALITY_KINDS}")
        found.append(LocalityDef(code, kind, _labels(f"locality {code}", raw.get("name"), {"fi"}),
                                 bool(raw.get("retired", False))))
    return ActivityCatalogue(tuple(measures), tuple(types), tuple(found))


async def sync_catalogue(sessions: async_sessionmaker[AsyncSession], catalogue: ActivityCatalogue) -> None:
    """Insert new codes and mirror retirement; a code is never deleted (workers racing: the loser reads again)."""
    try:
        await _sync(sessions, catalogue)
    except IntegrityError:
        await _sync(sessions, catalogue)


async def _sync(sessions: async_sessionmaker[AsyncSession], catalogue: ActivityCatalogue) -> None:
    async with sessions.begin() as session:
        tables: tuple[tuple[Any, dict[str, bool]], ...] = (
            (ActivityTypeRow, {t.code: t.retired for t in catalogue.types}),
            (LocalityRow, {loc.code: loc.retired for loc in catalogue.localities}),
        )
        for model, defined in tables:
            stored = {row.code: row for row in await session.scalars(select(model))}
            for code, retired in defined.items():
                row = stored.get(code)
                if row is None:
                    session.add(model(code=code, retired=retired))
                elif row.retired != retired:
                    row.retired = retired
            # A code dropped from the file is retired, so its past entries keep it.
            for code, row in stored.items():
                if code not in defined and not row.retired:
                    row.retired = True
