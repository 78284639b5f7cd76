// The week shown: which Monday, the roster the server answered for it, the
// caller's own shifts, the day-by-day view and the "my shifts" list.

import { t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { addDays } from "../shared/dates.js";
import { $, el } from "../shared/dom.js";
import { errorText, showError, showSignedOut } from "./changes.js";
import { context } from "./context.js";
import { capitalised, dayText, languageName, localDate, rangeText, today } from "./format.js";
import { renderExtra, renderOccurrence } from "./occurrence.js";

const week = {
  from: null, // Monday shown, YYYY-MM-DD (organisation's local date)
  roster: null, // GET /api/roster answer
  mine: [], // GET /api/roster/mine shifts
};

export function weekLoaded() {
  return week.roster !== null;
}

export function weekStart() {
  return week.from;
}

export async function loadWeek() {
  const query = `from=${week.from}&to=${addDays(week.from, 6)}`;
  const [roster, mine] = await Promise.all([api("GET", `/api/roster?${query}`), api("GET", `/api/roster/mine?${query}`)]);
  if (!roster.ok) {
    if (roster.status === 401) return showSignedOut();
    showError(errorText(roster.error));
    return;
  }
  week.roster = roster.data;
  context.timezone = roster.data.timezone || context.timezone;
  week.mine = mine.ok && Array.isArray(mine.data.shifts) ? mine.data.shifts : [];
}

// Choose the week to show (loaded by the next loadWeek) and keep it in the address.
export function setWeek(monday, { inAddress = true } = {}) {
  week.from = monday;
  if (!inAddress) return;
  const url = new URL(window.location.href);
  url.searchParams.set("week", monday);
  history.replaceState(null, "", url);
}

export function renderWeek() {
  const from = week.from;
  const to = addDays(from, 6);
  $("week-title").textContent = t("roster.week.title", {
    from: dayText(from, { day: "numeric", month: "long" }),
    to: dayText(to, { day: "numeric", month: "long", year: "numeric" }),
  });
  $("week-tz").textContent = t("roster.week.timezone", { timezone: context.timezone });
  const gaps = week.roster.gaps || 0;
  const gapsNode = $("week-gaps");
  gapsNode.textContent =
    gaps === 0 ? t("roster.week.gaps_none") : gaps === 1 ? t("roster.week.gaps_one") : t("roster.week.gaps_many", { n: gaps });
  gapsNode.classList.toggle("has-gaps", gaps > 0);

  const byDay = new Map();
  for (let i = 0; i < 7; i += 1) byDay.set(addDays(from, i), []);
  for (const occ of week.roster.occurrences || []) {
    if (byDay.has(occ.date)) byDay.get(occ.date).push({ kind: "occ", at: occ.starts_at, occ });
  }
  for (const shift of week.roster.other_shifts || []) {
    const day = localDate(shift.starts_at);
    if (byDay.has(day)) byDay.get(day).push({ kind: "extra", at: shift.starts_at, shift });
  }
  const now = today();
  $("days").replaceChildren(
    ...[...byDay.entries()].map(([day, items]) => {
      items.sort((a, b) => a.at.localeCompare(b.at));
      const headingId = `day-${day}`;
      const isToday = day === now;
      return el(
        "section",
        { class: isToday ? "day day-today" : "day", "aria-labelledby": headingId },
        el(
          "h3",
          { id: headingId, class: "day-title" },
          capitalised(dayText(day)),
          isToday ? el("span", { class: "today-mark", text: ` · ${t("roster.day.today")}` }) : null,
        ),
        items.length
          ? el(
              "ul",
              { class: "occ-list" },
              ...items.map((item) => (item.kind === "occ" ? renderOccurrence(item.occ) : renderExtra(item.shift))),
            )
          : el("p", { class: "muted day-empty", text: t("roster.day.empty") }),
      );
    }),
  );
}

// Per language: its speakers' duty hours this week and the stretches a slot needs it uncovered.
export function renderCoverage() {
  const languages = week.roster.languages || [];
  const gaps = week.roster.language_gaps || 0;
  const gapsNode = $("coverage-gaps");
  gapsNode.textContent =
    gaps === 0 ? t("roster.coverage.gaps_none") : gaps === 1 ? t("roster.coverage.gaps_one") : t("roster.coverage.gaps_many", { n: gaps });
  gapsNode.classList.toggle("has-gaps", gaps > 0);
  const hours = new Intl.NumberFormat(context.locale, { maximumFractionDigits: 1 });
  $("coverage-table").replaceChildren(
    el("caption", { class: "visually-hidden", text: t("roster.coverage.title") }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col", text: t("roster.coverage.language") }),
        el("th", { scope: "col", class: "num", text: t("roster.coverage.hours") }),
        el("th", { scope: "col", text: t("roster.coverage.gaps") }),
      ),
    ),
    el(
      "tbody",
      {},
      ...languages.map((language) =>
        el(
          "tr",
          { class: language.gaps.length ? "coverage-gap" : null, dataset: { language: language.language } },
          el("th", { scope: "row", text: languageName(language.language) }),
          el("td", { class: "num", text: t("roster.coverage.hours_value", { hours: hours.format(language.hours) }) }),
          el(
            "td",
            {},
            language.gaps.length
              ? el(
                  "ul",
                  { class: "coverage-gaps" },
                  ...language.gaps.map((gap) =>
                    el("li", { text: `${capitalised(dayText(localDate(gap.starts_at), { weekday: "short" }))} ${rangeText(gap.starts_at, gap.ends_at)}` }),
                  ),
                )
              : el("span", { class: "muted", text: t("roster.coverage.none") }),
          ),
        ),
      ),
    ),
  );
}

export function renderMine() {
  const shifts = [...week.mine].sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  $("mine-empty").hidden = shifts.length > 0;
  $("mine-list").replaceChildren(
    ...shifts.map((shift) => {
      const day = shift.date || localDate(shift.starts_at);
      return el(
        "li",
        {},
        el("span", { class: "mine-day", text: capitalised(dayText(day)) }),
        " ",
        el("span", { class: "mine-time", text: rangeText(shift.starts_at, shift.ends_at) }),
        shift.note ? el("span", { class: "muted", text: ` · ${shift.note}` }) : null,
      );
    }),
  );
}
