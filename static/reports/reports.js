// Manager report page (docs/protocol.md §6, GET /api/reports): a date range with
// presets, every figure as a table (the accessible form) and most as a chart,
// the previous period beside it, exports, and a print layout. Chart.js comes
// from npm as a classic script (window.Chart), loaded before this module runs.

import { t, translateDom } from "../i18n/i18n.js";
import { api, me as fetchMe, status as fetchStatus, topics as fetchTopics } from "../shared/api.js";
import * as dates from "../shared/dates.js";
import { dateOf, isDate } from "../shared/dates.js";
import { $, el } from "../shared/dom.js";
import { languageName as nameOf, loadPageLanguage, localeOf } from "../shared/language.js";
import * as page from "../shared/page.js";
import { renderActivities } from "./activities.js";

// chat:flag categories (docs/protocol.md §4): every one is shown, zeros included.
const FLAG_CATEGORIES = ["violence_threat", "trafficking_suspected", "crisis_self_harm", "abusive_visitor", "other"];

const VIEWS = ["loading", "signed-out", "forbidden", "report-view"];
const OUTCOMES = ["answered", "abandoned", "unanswered", "closed", "blocked"];
const GRAIN_KEY = { by_day: "date", by_week: "week", by_month: "month", by_year: "year" };
const COLOURS = ["#2f5d7c", "#c0631f", "#6b7d2a", "#8a3b74", "#5b5f66", "#1f7a6d", "#b8860b", "#4b4bb0"];

const state = {
  lang: "en",
  locale: "en-GB",
  timezone: "UTC",
  topics: {}, // code -> label
  activities: null, // GET /api/activities/types
  report: null,
  charts: {},
};

// ------------------------------------------------------------ dates

function today() {
  return dates.today(state.timezone);
}

function preset(name) {
  const [y, m] = today().split("-").map(Number);
  switch (name) {
    case "last-month":
      return [dateOf(y, m - 1, 1), dateOf(y, m, 0)];
    case "this-year":
      return [dateOf(y, 1, 1), dateOf(y, 12, 31)];
    case "last-year":
      return [dateOf(y - 1, 1, 1), dateOf(y - 1, 12, 31)];
    default:
      return [dateOf(y, m, 1), dateOf(y, m + 1, 0)];
  }
}

function dayText(day) {
  return dates.dayText(day, state.locale, { day: "numeric", month: "long", year: "numeric" });
}

// ------------------------------------------------------------ numbers

function num(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value; // "<5": a hidden small number
  return new Intl.NumberFormat(state.locale, { maximumFractionDigits: digits }).format(value);
}

function percent(value) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(state.locale, { style: "percent", maximumFractionDigits: 1 }).format(value);
}

function seconds(value) {
  if (value === null || value === undefined) return "–";
  const total = Math.round(value);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return m ? t("reports.unit.min_s", { m, s }) : t("reports.unit.s", { s });
}

// For charts: a hidden small number has no height to show.
function plotted(value) {
  return typeof value === "number" ? value : null;
}

function languageName(code) {
  return nameOf(code, state.locale);
}

function weekdayName(index) {
  return dates.weekdayName(index, state.locale, "short");
}

// ------------------------------------------------------------ tables

// A table with a caption (for screen readers), column headers and row headers.
function fillTable(table, caption, headers, rows) {
  table.replaceChildren(
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, ...headers.map((h, i) => el("th", { scope: "col", class: i ? "num" : null, text: h })))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {},
      el("th", { scope: "row", text: cells[0] }),
      ...cells.slice(1).map((c) => el("td", { class: "num", text: c })),
    ))),
  );
}

function periodHeaders(first) {
  const headers = [first, t("reports.column.this_period")];
  if (state.report.previous) headers.push(t("reports.column.previous_period"));
  return headers;
}

function withPrevious(label, pick, format = num) {
  const row = [label, format(pick(state.report.period))];
  if (state.report.previous) row.push(format(pick(state.report.previous)));
  return row;
}

// ------------------------------------------------------------ charts

function chart(id, config, label) {
  if (state.charts[id]) state.charts[id].destroy();
  const canvas = $(id);
  canvas.setAttribute("aria-label", `${label} ${t("reports.chart.see_table")}`);
  if (!window.Chart) return; // the table below still has every figure
  config.options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    plugins: { legend: { display: config.data.datasets.length > 1 } },
    ...config.options,
  };
  state.charts[id] = new window.Chart(canvas, config);
}

function datasets(pick) {
  const sets = [{ label: t("reports.column.this_period"), data: pick(state.report.period).map(plotted), backgroundColor: COLOURS[0] }];
  if (state.report.previous) {
    sets.push({ label: t("reports.column.previous_period"), data: pick(state.report.previous).map(plotted), backgroundColor: "#9bb3c4" });
  }
  return sets;
}

// ------------------------------------------------------------ render

function renderKeyFigures() {
  const rows = [
    withPrevious(t("reports.key.sessions"), (p) => p.sessions),
    withPrevious(t("reports.outcome.answered"), (p) => p.by_outcome.answered),
    withPrevious(t("reports.key.closed_share"), (p) => p.closed_share, percent),
    withPrevious(t("reports.key.waited_unstaffed"), (p) => p.waited_unstaffed),
    withPrevious(t("reports.key.from_group"), (p) => p.from_group),
    withPrevious(t("reports.key.with_second_responder"), (p) => p.with_second_responder),
    withPrevious(t("reports.key.with_listener"), (p) => p.with_listener),
    withPrevious(t("reports.key.no_conversation"), (p) => p.no_conversation),
    withPrevious(t("reports.key.shifts_planned"), (p) => p.shifts.planned),
    withPrevious(t("reports.key.shifts_held"), (p) => p.shifts.held),
    withPrevious(t("reports.key.shifts_not_held"), (p) => p.shifts.not_held),
    withPrevious(t("reports.key.duty_hours"), (p) => p.shifts.duty_hours, (v) => num(v, 1)),
    withPrevious(t("reports.key.checked_in_hours"), (p) => p.shifts.checked_in_hours, (v) => num(v, 1)),
    withPrevious(t("reports.key.per_shift"), (p) => p.shifts.answered_per_shift, (v) => num(v, 1)),
    withPrevious(t("reports.key.wait_median"), (p) => p.wait_seconds.median, seconds),
    withPrevious(t("reports.key.wait_p90"), (p) => p.wait_seconds.p90, seconds),
    withPrevious(t("reports.key.duration_median"), (p) => p.duration_seconds.median, seconds),
    withPrevious(t("reports.key.ratings"), (p) => p.ratings.count),
    withPrevious(t("reports.key.rating_mean"), (p) => p.ratings.mean, (v) => num(v, 2)),
    withPrevious(t("reports.key.switched"), (p) => p.switched_language.sessions),
    withPrevious(t("reports.key.left_for_language"), (p) => p.left_for_language.sessions),
  ];
  fillTable($("key-figures"), t("reports.key.title"), periodHeaders(t("reports.column.figure")), rows);
}

function renderCounts(key, tableId, chartId, title, label, order) {
  const codes = order || [...new Set([
    ...Object.keys(state.report.period[key]),
    ...Object.keys((state.report.previous || {})[key] || {}),
  ])].sort();
  const value = (p, code) => (p[key][code] === undefined ? 0 : p[key][code]);
  fillTable($(tableId), title, periodHeaders(t("reports.column.item")),
    codes.map((code) => withPrevious(label(code), (p) => value(p, code))));
  chart(chartId, {
    type: "bar",
    data: { labels: codes.map(label), datasets: datasets((p) => codes.map((c) => value(p, c))) },
    options: { indexAxis: codes.length > 6 ? "y" : "x" },
  }, title);
  if (!codes.length) $(tableId).querySelector("tbody").append(el("tr", {}, el("td", { colspan: 3, text: t("reports.empty") })));
}

function renderTime() {
  const grain = $("grain").value;
  const rows = state.report.period[grain];
  const label = (row) => (grain === "by_day" ? dayText(row.date) : row[GRAIN_KEY[grain]]);
  const headers = [t(`reports.time.${grain.slice(3)}`), t("reports.key.sessions"), ...OUTCOMES.map((o) => t(`reports.outcome.${o}`))];
  fillTable($("time-table"), t("reports.time.title"), headers,
    rows.map((row) => [label(row), num(row.sessions), ...OUTCOMES.map((o) => num(row[o]))]));
  chart("time-chart", {
    type: "bar",
    data: {
      labels: rows.map(label),
      datasets: OUTCOMES.map((o, i) => ({ label: t(`reports.outcome.${o}`), data: rows.map((r) => plotted(r[o])), backgroundColor: COLOURS[i] })),
    },
    options: { plugins: { legend: { display: true } }, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  }, t("reports.time.title"));
}

function renderHeat() {
  const cells = state.report.period.by_weekday_hour;
  const most = Math.max(1, ...cells.map((c) => (typeof c.sessions === "number" ? c.sessions : 0)));
  const table = $("heat-table");
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  table.replaceChildren(
    el("caption", { class: "visually-hidden", text: t("reports.heat.title") }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("reports.heat.weekday") }),
      ...hours.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...Array.from({ length: 7 }, (_, w) => el("tr", {},
      el("th", { scope: "row", text: weekdayName(w) }),
      ...hours.map((_, h) => {
        const c = cells[w * 24 + h];
        const level = typeof c.sessions === "number" ? Math.ceil((c.sessions / most) * 4) : 1;
        const share = c.hours ? c.covered_hours / c.hours : null;
        const classes = [`heat-${level}`];
        // Chats arrived in an hour that no duty shift ever covered: where chat should perhaps be open.
        if (c.sessions !== 0 && !c.covered_hours) classes.push("uncovered");
        const text = share ? `${num(c.sessions)} · ${percent(share)}` : num(c.sessions);
        return el("td", {
          class: classes.join(" "),
          title: t("reports.heat.cell", { weekday: weekdayName(w), hour: hours[h], sessions: num(c.sessions), covered: num(c.covered_hours, 1), hours: num(c.hours, 1) }),
          text,
        });
      }),
    ))),
  );
}

// ------------------------------------------------------------ language desks

// Every language with a desk or a figure: asked for, answered in, left for lack of it.
function deskLanguages() {
  const p = state.report.period;
  return [...new Set([
    ...Object.keys(p.language_desks),
    ...Object.keys(p.by_requested_language),
    ...Object.keys(p.by_answered_language),
  ])].sort((a, b) => languageName(a).localeCompare(languageName(b), state.locale));
}

function renderDesks() {
  const p = state.report.period;
  const codes = deskLanguages();
  const value = (mapping, code) => (mapping[code] === undefined ? 0 : mapping[code]);
  const columns = [
    [t("reports.desks.asked"), (code) => value(p.by_requested_language, code)],
    [t("reports.desks.answered"), (code) => value(p.by_answered_language, code)],
    [t("reports.desks.left"), (code) => value(p.left_for_language.by_language, code)],
  ];
  fillTable($("desks-table"), t("reports.desks.title"), [t("reports.desks.heat_language"), ...columns.map((c) => c[0])],
    codes.map((code) => [languageName(code), ...columns.map(([, pick]) => num(pick(code)))]));
  chart("desks-chart", {
    type: "bar",
    data: {
      labels: codes.map(languageName),
      datasets: columns.map(([label, pick], i) => ({ label, data: codes.map((c) => plotted(pick(c))), backgroundColor: COLOURS[i] })),
    },
    options: { plugins: { legend: { display: true } } },
  }, t("reports.desks.title"));
  const pairs = Object.entries(p.switched_language.by_pair);
  fillTable($("switch-table"), t("reports.desks.switch_title"), [t("reports.column.item"), t("reports.key.sessions")],
    pairs.map(([pair, n]) => {
      const [from, to] = pair.split(">");
      return [t("reports.desks.switch_pair", { from: languageName(from), to: languageName(to) }), num(n)];
    }));
  if (!pairs.length) $("switch-table").querySelector("tbody").append(el("tr", {}, el("td", { colspan: 2, text: t("reports.empty") })));

  const select = $("desk-language");
  const chosen = codes.includes(select.value) ? select.value : mostAsked(codes);
  select.replaceChildren(...Object.keys(p.language_desks).sort().map((code) => el("option", { value: code, text: languageName(code) })));
  select.value = chosen;
  renderDeskHeat();
}

function mostAsked(codes) {
  const asked = state.report.period.by_requested_language;
  const count = (code) => (typeof asked[code] === "number" ? asked[code] : 0);
  return [...codes].sort((a, b) => count(b) - count(a))[0] || codes[0];
}

// One language's week: demand (chats asking for it) against the duty hours of its speakers.
function renderDeskHeat() {
  const code = $("desk-language").value;
  const cells = state.report.period.language_desks[code] || [];
  const language = languageName(code);
  const title = `${t("reports.desks.heat_title")}: ${language}`;
  const most = Math.max(1, ...cells.map((c) => (typeof c.sessions === "number" ? c.sessions : 0)));
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  $("desk-heat-table").replaceChildren(
    el("caption", { class: "visually-hidden", text: title }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("reports.heat.weekday") }),
      ...hours.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...Array.from({ length: 7 }, (_, w) => el("tr", {},
      el("th", { scope: "row", text: weekdayName(w) }),
      ...hours.map((_, h) => {
        const c = cells[w * 24 + h];
        if (!c) return el("td", { class: "heat-0", text: "" });
        const level = typeof c.sessions === "number" ? Math.ceil((c.sessions / most) * 4) : 1;
        const classes = [`heat-${level}`];
        // Chats asked for the language in an hour when nobody who speaks it was on duty.
        if (c.sessions !== 0 && !c.covered_hours) classes.push("uncovered");
        const text = c.covered_hours ? `${num(c.sessions)} · ${num(c.covered_hours, 1)}` : num(c.sessions);
        return el("td", {
          class: classes.join(" "),
          title: t("reports.desks.heat_cell", {
            weekday: weekdayName(w), hour: hours[h], language, sessions: num(c.sessions),
            left: num(c.left_for_language), covered: num(c.covered_hours, 1),
          }),
          text,
        });
      }),
    ))),
  );
  // The same week as a chart: demand per weekday (bars) and its speakers' duty hours (line).
  const byDay = (pick) => Array.from({ length: 7 }, (_, w) => cells.slice(w * 24, w * 24 + 24)
    .reduce((sum, c) => sum + (typeof pick(c) === "number" ? pick(c) : 0), 0));
  chart("desk-heat-chart", {
    data: {
      labels: Array.from({ length: 7 }, (_, w) => weekdayName(w)),
      datasets: [
        { type: "bar", label: t("reports.desks.asked"), data: byDay((c) => c.sessions), backgroundColor: COLOURS[0] },
        { type: "bar", label: t("reports.desks.left"), data: byDay((c) => c.left_for_language), backgroundColor: COLOURS[1] },
        { type: "line", label: t("reports.desks.duty_hours"), data: byDay((c) => c.covered_hours), borderColor: COLOURS[2], backgroundColor: COLOURS[2] },
      ],
    },
    options: { plugins: { legend: { display: true } }, scales: { y: { beginAtZero: true } } },
  }, title);
}

function renderRatings() {
  const rows = ["5", "4", "3", "2", "1"].map((r) => withPrevious(t("reports.rating.stars", { n: r }), (p) => p.ratings.by_rating[r]));
  rows.push(withPrevious(t("reports.key.ratings"), (p) => p.ratings.count));
  rows.push(withPrevious(t("reports.key.rating_mean"), (p) => p.ratings.mean, (v) => num(v, 2)));
  fillTable($("rating-table"), t("reports.rating.title"), periodHeaders(t("reports.column.rating")), rows);
}

async function loadDebriefs() {
  const reply = await api("GET", "/api/debriefs");
  const list = reply.ok ? reply.data.debriefs : [];
  $("debrief-list").replaceChildren(
    ...list.map((d) => {
      const when = new Date(d.requested_at).toLocaleString(state.locale, { timeZone: state.timezone, dateStyle: "medium", timeStyle: "short" });
      return el(
        "li",
        {},
        el("span", { text: t("reports.debrief.item", { alias: d.alias, time: when }) }),
        " ",
        el("button", {
          type: "button",
          class: "btn btn-secondary",
          text: t("reports.debrief.done"),
          "aria-label": `${t("reports.debrief.done")}: ${t("reports.debrief.item", { alias: d.alias, time: when })}`,
          onclick: async () => {
            const done = await api("POST", `/api/debriefs/${encodeURIComponent(d.debrief_id)}/done`);
            $("debrief-status").textContent = done.ok
              ? t("reports.debrief.marked", { alias: d.alias })
              : t("reports.error.load", { code: done.error.code });
            await loadDebriefs();
            $("debrief-title").focus();
          },
        }),
      );
    }),
  );
  $("debrief-empty").hidden = list.length > 0;
}

function renderHelp() {
  const rows = ["raised", "answered"].map((k) => withPrevious(t(`reports.help.${k}`), (p) => p.help_alarms[k]));
  fillTable($("help-table"), t("reports.help.title"), periodHeaders(t("reports.column.item")), rows);
}

function render() {
  const r = state.report;
  $("report-title").textContent = t("reports.heading", { from: dayText(r.from), to: dayText(r.to) });
  const notes = [t("reports.note.timezone", { zone: r.timezone })];
  if (r.previous) notes.push(t("reports.note.previous", { from: dayText(r.previous.from), to: dayText(r.previous.to) }));
  if (r.small_numbers) notes.push(t("reports.note.small", { threshold: r.threshold }));
  $("report-note").textContent = notes.join(" ");
  renderKeyFigures();
  if (state.activities) renderActivities(r, state.activities, { fillTable, periodHeaders, withPrevious, num });
  renderCounts("by_outcome", "outcome-table", "outcome-chart", t("reports.outcome.title"), (o) => t(`reports.outcome.${o}`), OUTCOMES);
  renderCounts("by_language", "language-table", "language-chart", t("reports.language.title"), languageName);
  renderCounts("by_topic", "topic-table", "topic-chart", t("reports.topic.title"), (c) => state.topics[c] || c);
  renderCounts("by_flag", "flag-table", "flag-chart", t("reports.flag.title"), (c) => t(`console.flag.category.${c}`), FLAG_CATEGORIES);
  renderTime();
  renderHeat();
  renderDesks();
  renderRatings();
  renderHelp();
}

// ------------------------------------------------------------ loading

function query() {
  const params = new URLSearchParams({ from: $("from").value, to: $("to").value });
  params.set("compare", $("compare").checked ? "previous" : "none");
  params.set("small_numbers", $("small").checked ? "on" : "off");
  return params;
}

function showError(text) {
  page.showError($("error"), text);
}

async function load() {
  if (!isDate($("from").value) || !isDate($("to").value) || $("to").value < $("from").value) {
    showError(t("reports.error.range"));
    $("from").focus();
    return;
  }
  showError("");
  const params = query();
  const reply = await api("GET", `/api/reports?${params}`);
  if (!reply.ok) {
    showError(t("reports.error.load", { code: reply.error.code }));
    return;
  }
  state.report = reply.data;
  const base = new URLSearchParams({ from: params.get("from"), to: params.get("to"), compare: params.get("compare") });
  $("export-csv").href = `/api/reports/export.csv?${base}`;
  $("summary-fi").href = `/api/reports/summary-text?${base}&lang=fi`;
  $("summary-en").href = `/api/reports/summary-text?${base}&lang=en`;
  window.history.replaceState(null, "", `?from=${params.get("from")}&to=${params.get("to")}`);
  render();
  $("status").textContent = t("reports.loaded", { from: dayText(state.report.from), to: dayText(state.report.to), sessions: num(state.report.period.sessions) });
}

async function boot() {
  const params = new URLSearchParams(window.location.search);
  state.lang = await loadPageLanguage();
  state.locale = localeOf(state.lang);
  translateDom();
  document.title = t("reports.title");

  const session = await fetchMe();
  $("loading").hidden = true;
  if (!session.ok) {
    if (session.status === 401) page.showSignedOut(VIEWS);
    else showError(t("reports.error.load", { code: session.error.code }));
    return;
  }
  const staff = session.data.staff;
  $("whoami").textContent = t("reports.signed_in_as", { name: staff.display_name || staff.username });
  if (!page.isManager(staff.role)) {
    page.showOnly(VIEWS, "forbidden");
    return;
  }
  const [status, topics, activities] = await Promise.all([
    fetchStatus(), fetchTopics(state.lang), api("GET", `/api/activities/types?lang=${encodeURIComponent(state.lang)}`),
  ]);
  if (activities.ok) state.activities = activities.data;
  if (status.ok && status.data.timezone) state.timezone = status.data.timezone;
  if (topics.ok) {
    for (const group of topics.data.groups) for (const topic of group.topics) state.topics[topic.code] = `${group.label}: ${topic.label}`;
  }
  const [from, to] = isDate(params.get("from")) && isDate(params.get("to")) ? [params.get("from"), params.get("to")] : preset("this-month");
  $("from").value = from;
  $("to").value = to;

  loadDebriefs();
  $("range-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  for (const button of document.querySelectorAll("[data-preset]")) {
    button.addEventListener("click", () => {
      [$("from").value, $("to").value] = preset(button.dataset.preset);
      load();
    });
  }
  $("compare").addEventListener("change", load);
  $("small").addEventListener("change", load);
  $("grain").addEventListener("change", renderTime);
  $("desk-language").addEventListener("change", renderDeskHeat);
  $("print").addEventListener("click", () => window.print());
  $("report-view").hidden = false;
  await load();
}

boot();
