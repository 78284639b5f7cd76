"""What leaves the report: the small-number rule, the CSV export and the paste-able summary."""

from __future__ import annotations

import copy
import csv
import io
from datetime import date
from typing import Any

from chat_server.reports.rollup import OUTCOMES
from chat_server.topics import Taxonomy

# Keys of a period's figures whose values (or whose nested values) are counts of sessions or ratings.
_COUNT_KEYS = {
    "sessions", "answered", "closed", "left_for_language", "waited_unstaffed", "no_conversation", "from_group",
    "with_second_responder", "with_listener", *OUTCOMES,
}


def small(value: Any, threshold: int) -> Any:
    """A count from 1 to threshold - 1 as "<threshold"; anything else unchanged."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold:
        return f"<{threshold}"
    return value


def suppress(figures: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A copy of one period's figures with small counts hidden (and what would give them away)."""
    out = copy.deepcopy(figures)

    def counts(row: dict[str, Any]) -> None:
        for key in _COUNT_KEYS & row.keys():
            row[key] = small(row[key], threshold)

    counts(out)
    for key in ("by_outcome", "by_language", "by_topic", "by_flag", "by_requested_language", "by_answered_language"):
        out[key] = {k: small(v, threshold) for k, v in out[key].items()}
    for key in ("by_day", "by_week", "by_month", "by_year", "by_weekday_hour"):
        for row in out[key]:
            counts(row)
    out["help_alarms"] = {k: small(v, threshold) for k, v in out["help_alarms"].items()}
    out["debriefs"] = {k: small(v, threshold) for k, v in out["debriefs"].items()}
    for key, inner in (("switched_language", "by_pair"), ("left_for_language", "by_language")):
        counts(out[key])
        out[key][inner] = {k: small(v, threshold) for k, v in out[key][inner].items()}
    for cells in out["language_desks"].values():
        for row in cells:
            counts(row)
    wait = out["wait_seconds"]
    wait["answered"] = small(wait["answered"], threshold)
    out["duration_seconds"]["answered"] = small(out["duration_seconds"]["answered"], threshold)
    if isinstance(out["by_outcome"]["closed"], str):
        out["closed_share"] = None
    ratings = out["ratings"]
    ratings["by_rating"] = {k: small(v, threshold) for k, v in ratings["by_rating"].items()}
    if isinstance(small(ratings["count"], threshold), str):
        ratings["count"] = small(ratings["count"], threshold)
        ratings["mean"] = None
    return out


def csv_rows(period: str, figures: dict[str, Any]) -> list[list[Any]]:
    """Long-format rows (period, from, to, figure, item, measure, value) of one period's figures."""
    head = [period, figures["from"], figures["to"]]
    rows: list[list[Any]] = [head + ["total", "", "sessions", figures["sessions"]]]
    for key in ("by_outcome", "by_language", "by_topic", "by_flag", "by_requested_language", "by_answered_language"):
        rows += [head + [key, item, "sessions", n] for item, n in figures[key].items()]
    for key, inner in (("switched_language", "by_pair"), ("left_for_language", "by_language")):
        rows.append(head + [key, "", "sessions", figures[key]["sessions"]])
        rows += [head + [key, item, "sessions", n] for item, n in figures[key][inner].items()]
    for key, label in (("by_day", "date"), ("by_week", "week"), ("by_month", "month"), ("by_year", "year")):
        for row in figures[key]:
            rows += [head + [key, row[label], m, row[m]] for m in ("sessions", *OUTCOMES)]
    for cell in figures["by_weekday_hour"]:
        item = f"{cell['weekday']}-{cell['hour']:02d}"
        rows += [head + ["by_weekday_hour", item, m, cell[m]]
                 for m in ("sessions", "answered", "closed", "covered_hours", "hours")]
    for language, cells in figures["language_desks"].items():
        # Only the hours with demand or duty: seven languages × 168 hours are mostly zeros.
        for cell in (c for c in cells if any(c[m] != 0 for m in ("sessions", "covered_hours"))):
            item = f"{language} {cell['weekday']}-{cell['hour']:02d}"
            rows += [head + ["language_desks", item, m, cell[m]]
                     for m in ("sessions", "answered", "left_for_language", "covered_hours")]
    wait, duration = figures["wait_seconds"], figures["duration_seconds"]
    rows += [
        head + ["wait_seconds", "", "answered", wait["answered"]],
        head + ["wait_seconds", "", "median", _blank(wait["median"])],
        head + ["wait_seconds", "", "p90", _blank(wait["p90"])],
        head + ["duration_seconds", "", "median", _blank(duration["median"])],
    ]
    rows.append(head + ["no_conversation", "", "sessions", figures["no_conversation"]])
    rows += [head + ["shifts", "", m, _blank(v)] for m, v in figures["shifts"].items()]
    rows.append(head + ["closed_share", "", "share", _blank(figures["closed_share"])])
    rows.append(head + ["waited_unstaffed", "", "sessions", figures["waited_unstaffed"]])
    rows.append(head + ["from_group", "", "sessions", figures["from_group"]])
    rows.append(head + ["with_second_responder", "", "sessions", figures["with_second_responder"]])
    rows.append(head + ["with_listener", "", "sessions", figures["with_listener"]])
    rows += [head + ["help_alarms", item, "alarms", n] for item, n in figures["help_alarms"].items()]
    rows += [head + ["debriefs", item, "requests", n] for item, n in figures["debriefs"].items()]
    ratings = figures["ratings"]
    rows.append(head + ["ratings", "", "count", ratings["count"]])
    rows += [head + ["ratings", r, "count", n] for r, n in ratings["by_rating"].items()]
    rows.append(head + ["ratings", "", "mean", _blank(ratings["mean"])])
    return rows


def _blank(value: Any) -> Any:
    return "" if value is None else value


def to_csv(report: dict[str, Any]) -> str:
    """The report (current and any previous period) as CSV text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period", "from", "to", "figure", "item", "measure", "value"])
    writer.writerows(csv_rows("current", report["period"]))
    if report.get("previous"):
        writer.writerows(csv_rows("previous", report["previous"]))
    return out.getvalue()


# ------------------------------------------------------------------ summary text

_LANGUAGE_NAMES = {
    "fi": {"fi": "suomi", "sv": "ruotsi", "en": "englanti", "ru": "venäjä", "et": "viro", "th": "thai",
           "es": "espanja", "ro": "romania", "uk": "ukraina", "zh": "kiina", "vi": "vietnam"},
    "en": {"fi": "Finnish", "sv": "Swedish", "en": "English", "ru": "Russian", "et": "Estonian", "th": "Thai",
           "es": "Spanish", "ro": "Romanian", "uk": "Ukrainian", "zh": "Chinese", "vi": "Vietnamese"},
}

_TEXT = {
    "en": {
        "title": "Chat report {from_} – {to} ({zone})",
        "shifts": "Chat duty held {held} times ({hours} hours checked in); "
                  "{not_held} of {planned} planned duty shifts were not held.",
        "no_conversation": "Answered chats with no conversation (the visitor wrote nothing): {count}.",
        "sessions": "Chat sessions: {total}. Answered {answered}; left while waiting {abandoned}; "
                    "still waiting when duty ended {unanswered}; arrived while the chat was closed "
                    "{closed}{share}; blocked {blocked}.",
        "per_shift": "Answered chats per duty shift: {value}.",
        "wait": "Waiting time before an answer: median {median}, 90 % answered within {p90}. "
                "Median length of an answered chat: {duration}.",
        "languages": "Languages: {items}.",
        "desks": "Languages asked for: {items}. Chats that changed language: {switched}. Visitors who left "
                 "because their language was not available: {left}.",
        "topics": "Topics: {items}.",
        "ratings": "Visitor ratings: {count}, average {mean} / 5.",
        "no_ratings": "Visitor ratings: none.",
        "previous": "Previous period {from_} – {to}: {total} chat sessions, {answered} answered, {held} duty shifts.",
        "small": "Counts below {threshold} are shown as \"<{threshold}\" to protect anonymity. "
                 "The figures count chat sessions and duty shifts, never people.",
        "none": "none",
    },
    "fi": {
        "title": "Chat-raportti {from_}–{to} ({zone})",
        "shifts": "Chat-päivystyksiä pidettiin {held} kertaa ({hours} tuntia kirjautuneena päivystykseen); "
                  "suunnitelluista {planned} päivystyksestä {not_held} jäi pitämättä.",
        "no_conversation": "Vastattuja keskusteluja, joissa kävijä ei kirjoittanut mitään: {count}.",
        "sessions": "Chat-keskusteluja: {total}. Vastattuja {answered}; jonossa poistuneita {abandoned}; "
                    "päivystyksen päättyessä jonoon jääneitä {unanswered}; suljettuna saapuneita {closed}{share}; "
                    "estettyjä {blocked}.",
        "per_shift": "Vastattuja keskusteluja päivystyskertaa kohden: {value}.",
        "wait": "Odotusaika vastaukseen: mediaani {median}, 90 % vastattiin {p90} kuluessa. "
                "Vastatun keskustelun keston mediaani: {duration}.",
        "languages": "Kielet: {items}.",
        "desks": "Pyydetyt kielet: {items}. Kieltä vaihtaneita keskusteluja: {switched}. Poistuneita, koska "
                 "omaa kieltä ei ollut tarjolla: {left}.",
        "topics": "Aiheet: {items}.",
        "ratings": "Kävijöiden arviot: {count}, keskiarvo {mean} / 5.",
        "no_ratings": "Kävijöiden arviot: ei arvioita.",
        "previous": "Edellinen jakso {from_}–{to}: {total} chat-keskustelua, joista vastattuja {answered}, "
                    "{held} päivystyskertaa.",
        "small": "Alle {threshold} lukumäärät näytetään muodossa \"<{threshold}\" anonymiteetin suojaamiseksi. "
                 "Luvut kertovat keskusteluista ja päivystyskerroista, eivät henkilöistä.",
        "none": "ei",
    },
}


def _number(value: Any, lang: str) -> str:
    if isinstance(value, float):
        text = f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
        return text.replace(".", ",") if lang == "fi" else text
    return str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _day(value: str, lang: str) -> str:
    d = date.fromisoformat(value)
    if lang == "fi":
        return f"{d.day}.{d.month}.{d.year}"
    return f"{d.day} {d.strftime('%b')} {d.year}"


def summary_text(report: dict[str, Any], lang: str, taxonomy: Taxonomy, threshold: int, figures: str = "") -> str:
    """A period summary for a funding report, with small counts hidden (`figures`: a paragraph after the title)."""
    t = _TEXT[lang]
    cur = suppress(report["period"], threshold)
    o = cur["by_outcome"]
    shifts = cur["shifts"]
    share = cur["closed_share"]
    share_text = f" ({_number(round(share * 100, 1), lang)} %)" if share is not None else ""
    labels = {topic.code: topic.labels.get(lang) or topic.labels["en"] for g in taxonomy.groups for topic in g.topics}
    names = _LANGUAGE_NAMES[lang]

    def items(mapping: dict[str, Any], label: dict[str, str]) -> str:
        def order(kv: tuple[str, Any]) -> tuple[int, str]:
            return (-(kv[1] if isinstance(kv[1], int) else 0), kv[0])

        shown = [f"{label.get(k, k)} {v}" for k, v in sorted(mapping.items(), key=order) if v != 0]
        return ", ".join(shown) or t["none"]

    lines = [
        t["title"].format(from_=_day(cur["from"], lang), to=_day(cur["to"], lang), zone=report["timezone"]),
        "",
        *([figures, ""] if figures else []),
        t["shifts"].format(
            held=shifts["held"], planned=shifts["planned"], not_held=shifts["not_held"],
            hours=_number(float(shifts["checked_in_hours"]), lang),
        ),
        t["sessions"].format(total=cur["sessions"], share=share_text, **o),
    ]
    if cur["no_conversation"] != 0:
        lines.append(t["no_conversation"].format(count=cur["no_conversation"]))
    if cur["shifts"]["answered_per_shift"] is not None:
        lines.append(t["per_shift"].format(value=_number(float(cur["shifts"]["answered_per_shift"]), lang)))
    if cur["wait_seconds"]["median"] is not None:
        lines.append(t["wait"].format(
            median=_duration(cur["wait_seconds"]["median"]), p90=_duration(cur["wait_seconds"]["p90"]),
            duration=_duration(cur["duration_seconds"]["median"]),
        ))
    lines.append(t["languages"].format(items=items(cur["by_language"], names)))
    lines.append(t["desks"].format(
        items=items(cur["by_requested_language"], names), switched=cur["switched_language"]["sessions"],
        left=cur["left_for_language"]["sessions"],
    ))
    lines.append(t["topics"].format(items=items(cur["by_topic"], labels)))
    ratings = cur["ratings"]
    if ratings["count"] in (0, None):
        lines.append(t["no_ratings"])
    else:
        mean = "–" if ratings["mean"] is None else _number(float(ratings["mean"]), lang)
        lines.append(t["ratings"].format(count=ratings["count"], mean=mean))
    if report.get("previous"):
        prev = suppress(report["previous"], threshold)
        lines.append(t["previous"].format(
            from_=_day(prev["from"], lang), to=_day(prev["to"], lang), total=prev["sessions"],
            answered=prev["by_outcome"]["answered"], held=prev["shifts"]["held"],
        ))
    lines += ["", t["small"].format(threshold=threshold)]
    return "\n".join(lines) + "\n"
