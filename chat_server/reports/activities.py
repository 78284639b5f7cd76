"""Outreach activities in the report: small numbers, CSV rows and the "Figures" paragraph of the summary.

The paragraph reads like the field report's figures: localities visited, each
activity type's sentence from config/activities.toml, chat duty held, then
the peer group figures. `FIGURE_PARTS` is the one list of its sentences, in
order; a feature with figures of its own adds its part there.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable
from typing import Any

from chat_server.activities.catalogue import LOCALITIES, ActivityCatalogue
from chat_server.groups.records import SENTENCES as GROUP_SENTENCES
from chat_server.reports.export import small


def suppress_activities(figures: dict[str, Any], catalogue: ActivityCatalogue, threshold: int) -> dict[str, Any]:
    """A copy of the `activities` figures with small counts of contacts or people hidden."""
    out = copy.deepcopy(figures)
    people = {m.code for m in catalogue.measures if m.people}
    for row in out["by_type"].values():
        row["counts"] = {m: small(v, threshold) if m in people else v for m, v in row["counts"].items()}
    return out


def activity_csv_rows(period: str, figures: dict[str, Any]) -> list[list[Any]]:
    """Long-format rows (period, from, to, figure, item, measure, value) of a period's activities."""
    head = [period, figures["from"], figures["to"]]
    activities = figures["activities"]
    rows: list[list[Any]] = []
    for code, row in activities["by_type"].items():
        rows.append(head + ["activities", code, "entries", row["entries"]])
        rows += [head + ["activities", code, measure, n] for measure, n in row["counts"].items()]
        if row["localities"] is not None:
            rows.append(head + ["activities", code, "localities", row["localities"]])
    rows.append(head + ["localities", "", "reached", activities["localities_reached"]])
    rows.append(head + ["localities", "", "visited", activities["localities_visited"]])
    rows += [head + ["localities", code, "reached", 1] for code in activities["localities"]]
    return rows


def activities_csv(report: dict[str, Any]) -> str:
    """The activity rows of the report (current and any previous period), to follow export.to_csv's rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(activity_csv_rows("current", report["period"]))
    if report.get("previous"):
        writer.writerows(activity_csv_rows("previous", report["previous"]))
    return out.getvalue()


# ------------------------------------------------------------------ the "Figures" paragraph

_TEXT = {
    "en": {
        "heading": "Figures",
        "visited": "We visited {n} localities in all.",
        "reached": "Activities were recorded in {n} localities: {names}.",
        "duty": "Chat duty was held {n} times.",
    },
    "fi": {
        "heading": "Lukuja",
        "visited": "Vierailimme yhteensä {n} eri paikkakunnalla.",
        "reached": "Toimintaa kirjattiin {n} paikkakunnalla: {names}.",
        "duty": "Chat-päivystykseen osallistuimme {n} kertaa.",
    },
}


def number(value: Any, lang: str) -> str:
    """A count as the paragraph writes it: 2,306 in English, 2306 (12 345 from five digits) in Finnish."""
    if not isinstance(value, int):
        return str(value)
    if lang == "en":
        return f"{value:,}"
    return str(value) if abs(value) < 10_000 else f"{value:,}".replace(",", "\u00a0")


# A part: (report, lang, catalogue, threshold) -> its sentences (none when it has nothing to say).
FigurePart = Callable[[dict[str, Any], str, ActivityCatalogue, int], list[str]]


def _visited(report: dict[str, Any], lang: str, catalogue: ActivityCatalogue, threshold: int) -> list[str]:
    activities = report["period"].get("activities")
    if not activities or not activities["localities_visited"]:
        return []
    return [_TEXT[lang]["visited"].format(n=number(activities["localities_visited"], lang))]


def _activity_types(report: dict[str, Any], lang: str, catalogue: ActivityCatalogue, threshold: int) -> list[str]:
    activities = report["period"].get("activities")
    if not activities:
        return []
    shown = suppress_activities(activities, catalogue, threshold)
    sentences = []
    for t in catalogue.types:
        row = shown["by_type"].get(t.code)
        if row is None or not row["entries"]:
            continue
        values = {m: number(v, lang) for m, v in row["counts"].items()}
        if t.locality != "none":
            values[LOCALITIES] = number(row["localities"], lang)
        template = t.summary.get(lang)
        if template is not None:
            sentences.append(template.format(**values))
        else:
            label = t.labels.get(lang) or t.labels["en"]
            counts = ", ".join(
                f"{(catalogue.measure(m).labels.get(lang) or catalogue.measure(m).labels['en']).lower()} {values[m]}"
                for m in t.counts
            )
            sentences.append(f"{label}: {counts}.")
    return sentences


def _reached(report: dict[str, Any], lang: str, catalogue: ActivityCatalogue, threshold: int) -> list[str]:
    activities = report["period"].get("activities")
    if not activities or not activities["localities"]:
        return []
    names = []
    for code in activities["localities"]:
        place = catalogue.locality(code)
        names.append(place.name(lang) if place else code)
    return [_TEXT[lang]["reached"].format(n=number(len(names), lang), names=", ".join(sorted(names)))]


def _duty_held(report: dict[str, Any], lang: str, catalogue: ActivityCatalogue, threshold: int) -> list[str]:
    return [_TEXT[lang]["duty"].format(n=number(report["period"]["shifts"]["held"], lang))]


def _peer_groups(report: dict[str, Any], lang: str, catalogue: ActivityCatalogue, threshold: int) -> list[str]:
    """The weekly online group's meetings and participants (chat_server.groups.records.group_figures).

    The summary handler puts them in `period["groups"]`; participants are people, so a small
    count is hidden like the other counts of people.
    """
    groups = report["period"].get("groups")
    if not groups or not groups["sessions"]:
        return []
    template = GROUP_SENTENCES.get(lang, GROUP_SENTENCES["en"])
    return [template.format(sessions=number(groups["sessions"], lang),
                            participants=number(small(groups["participants"], threshold), lang))]


FIGURE_PARTS: list[FigurePart] = [_visited, _activity_types, _duty_held, _peer_groups, _reached]


def figures_paragraph(report: dict[str, Any], lang: str, catalogue: ActivityCatalogue, threshold: int) -> str:
    """The heading and the paragraph of every part's sentences ("" when no part has any)."""
    sentences = [s for part in FIGURE_PARTS for s in part(report, lang, catalogue, threshold)]
    return f"{_TEXT[lang]['heading']}\n\n" + " ".join(sentences) if sentences else ""
