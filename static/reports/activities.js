// The outreach activities of the report page (docs/protocol.md §12): every
// activity type's counts and localities beside the chat figures, with the
// previous period when it is shown, and the localities reached by name.

import { t } from "../i18n/i18n.js";
import { $ } from "../shared/dom.js";

// `catalogue`: GET /api/activities/types in the page's language; `table`:
// the page's fillTable, periodHeaders and withPrevious helpers.
export function renderActivities(report, catalogue, table) {
  const label = (list, code) => (list.find((item) => item.code === code) || { label: code }).label;
  const place = (code) => (catalogue.localities.find((p) => p.code === code) || { name: code }).name;
  const rows = [];
  for (const [code, figures] of Object.entries(report.period.activities.by_type)) {
    const type = label(catalogue.types, code);
    for (const measure of Object.keys(figures.counts)) {
      rows.push(table.withPrevious(`${type}: ${label(catalogue.measures, measure).toLowerCase()}`,
        (p) => (p.activities.by_type[code] ? p.activities.by_type[code].counts[measure] : 0)));
    }
    if (figures.localities !== null) {
      rows.push(table.withPrevious(`${type}: ${t("reports.activities.localities").toLowerCase()}`,
        (p) => (p.activities.by_type[code] ? p.activities.by_type[code].localities : 0)));
    }
  }
  table.fillTable($("activities-table"), t("reports.activities.title"), table.periodHeaders(t("reports.column.figure")), rows);
  table.fillTable($("localities-table"), t("reports.activities.localities_title"), table.periodHeaders(t("reports.column.figure")), [
    table.withPrevious(t("reports.activities.visited"), (p) => p.activities.localities_visited),
    table.withPrevious(t("reports.activities.reached"), (p) => p.activities.localities_reached),
  ]);
  const names = report.period.activities.localities.map(place).sort((a, b) => a.localeCompare(b));
  $("localities-list").textContent = names.length ? names.join(", ") : t("reports.empty");
  $("figures-text").textContent = figureSentences(report.period, catalogue, names, table.num).join(" ");
}

// The period's figures as sentences in the page's language, in the order of
// the summary text's "Figures" paragraph (GET /api/reports/summary-text has
// the Finnish and English wording of each type). Peer group figures, when
// that feature exists, go between duty held and the localities.
function figureSentences(period, catalogue, names, num) {
  const label = (list, code) => (list.find((item) => item.code === code) || { label: code }).label;
  const sentences = [];
  const activities = period.activities;
  if (activities.localities_visited) sentences.push(t("reports.activities.sentence_visited", { n: num(activities.localities_visited) }));
  for (const [code, figures] of Object.entries(activities.by_type)) {
    if (!figures.entries) continue;
    const parts = Object.entries(figures.counts).map(([m, n]) => `${label(catalogue.measures, m).toLowerCase()} ${num(n)}`);
    if (figures.localities !== null) parts.push(`${t("reports.activities.localities").toLowerCase()} ${num(figures.localities)}`);
    sentences.push(`${label(catalogue.types, code)}: ${parts.join(", ")}.`);
  }
  sentences.push(t("reports.activities.sentence_duty", { n: num(period.shifts.held) }));
  if (names.length) sentences.push(t("reports.activities.sentence_reached", { n: num(names.length), names: names.join(", ") }));
  return sentences;
}
