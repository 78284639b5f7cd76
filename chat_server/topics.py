"""The topic taxonomy from config/topics.toml, kept in step with the topics table."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import Topic

_CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_GROUP = re.compile(r"^[a-z][a-z0-9_]*$")


class TaxonomyError(ValueError):
    """topics.toml is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class TopicDef:
    code: str
    group: str
    labels: dict[str, str]
    retired: bool


@dataclass(frozen=True, slots=True)
class GroupDef:
    code: str
    labels: dict[str, str]
    topics: tuple[TopicDef, ...]


@dataclass(frozen=True)
class Taxonomy:
    groups: tuple[GroupDef, ...]

    @property
    def active_codes(self) -> frozenset[str]:
        return frozenset(t.code for g in self.groups for t in g.topics if not t.retired)

    def describe(self, language: str) -> dict[str, object]:
        """The taxonomy as GET /api/topics answers it."""

        def label(labels: dict[str, str]) -> str:
            return labels.get(language) or labels["en"]

        return {
            "groups": [
                {
                    "code": g.code,
                    "label": label(g.labels),
                    "topics": [{"code": t.code, "label": label(t.labels)} for t in g.topics if not t.retired],
                }
                for g in self.groups
            ]
        }


def load_taxonomy(path: Path, languages: tuple[str, ...]) -> Taxonomy:
    """Read and check topics.toml: unique codes, a label in every language."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    required = set(languages) | {"en"}
    seen: set[str] = set()
    groups = []
    for group in data.get("group", []):
        gcode = group.get("code", "")
        if not _GROUP.match(gcode):
            raise TaxonomyError(f"group code {gcode!r} is not a lower-case identifier")
        missing = required - set(group.get("label", {}))
        if missing:
            raise TaxonomyError(f"group {gcode} lacks labels for {sorted(missing)}")
        topics = []
        for topic in group.get("topic", []):
            code = topic.get("code", "")
            if not _CODE.match(code) or not code.startswith(gcode + "."):
                raise TaxonomyError(f"topic code {code!r} must look like '{gcode}.name'")
            if code in seen:
                raise TaxonomyError(f"topic code {code} appears twice")
            seen.add(code)
            missing = required - set(topic.get("label", {}))
            if missing:
                raise TaxonomyError(f"topic {code} lacks labels for {sorted(missing)}")
            topics.append(TopicDef(code, gcode, dict(topic["label"]), bool(topic.get("retired", False))))
        groups.append(GroupDef(gcode, dict(group["label"]), tuple(topics)))
    if not seen:
        raise TaxonomyError("no topics defined")
    return Taxonomy(tuple(groups))


async def sync_topics(sessions: async_sessionmaker[AsyncSession], taxonomy: Taxonomy) -> None:
    """Insert new codes and mirror retirement; a code is never deleted.

    Workers starting together may race to insert the same new codes: the loser
    reads again and finds them there.
    """
    try:
        await _sync_topics(sessions, taxonomy)
    except IntegrityError:
        await _sync_topics(sessions, taxonomy)


async def _sync_topics(sessions: async_sessionmaker[AsyncSession], taxonomy: Taxonomy) -> None:
    defined = {t.code: t for g in taxonomy.groups for t in g.topics}
    async with sessions.begin() as session:
        stored = {t.code: t for t in await session.scalars(select(Topic))}
        for code, topic in defined.items():
            row = stored.get(code)
            if row is None:
                session.add(Topic(code=code, group_code=topic.group, retired=topic.retired))
            elif row.retired != topic.retired:
                row.retired = topic.retired
        # A code dropped from the file is retired, so old sessions keep it.
        for code, row in stored.items():
            if code not in defined and not row.retired:
                row.retired = True
