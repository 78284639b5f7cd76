// Duty roster page (docs/protocol.md §7): a week view of the roster with its
// gaps, sign-up and release for staff, the caller's own shifts and calendar
// feed, and for managers slot editing, date exceptions and assignments.
// Every change goes to the server and the week is then loaded again, so the
// page never shows a state the server has not confirmed.

import { CATALOGUES, loadLanguage, localeFor, pickLanguage, t, translateDom } from "../i18n/i18n.js";
import { $, el } from "../shared/dom.js";
import { mountNav } from "../shared/nav.js";
import { announce as announceIn } from "../shared/status.js";
import { api, me as fetchMe, status as fetchStatus } from "../console/api.js";

const MANAGER_ROLES = new Set(["manager", "admin"]);

const state = {
  me: null,
  manager: false,
  timezone: "UTC",
  offered: [], // language codes from /api/status
  locale: "en-GB",
  from: null, // Monday shown, YYYY-MM-DD (organisation's local date)
  week: null, // GET /api/roster answer
  mine: [],
  slots: [],
  exceptions: [],
  staff: [],
  open: new Set(), // keys of <details> the user opened, kept across renders
  busy: false,
};

// ------------------------------------------------------------ dates and times

// Local dates are handled as plain YYYY-MM-DD strings; arithmetic on them is
// done at UTC noon, so no time zone (the browser's or the organisation's) can
// shift the day.
function dateAt(day) {
  return new Date(`${day}T12:00:00Z`);
}

function addDays(day, n) {
  const d = dateAt(day);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function weekdayOf(day) {
  return (dateAt(day).getUTCDay() + 6) % 7; // 0 = Monday
}

function mondayOf(day) {
  return addDays(day, -weekdayOf(day));
}

function isDate(value) {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(dateAt(value).getTime());
}

function parts(date, options) {
  const out = {};
  for (const part of new Intl.DateTimeFormat("en-GB", { timeZone: state.timezone, ...options }).formatToParts(date)) {
    out[part.type] = part.value;
  }
  return out;
}

// The organisation's local date of an instant.
function localDate(iso) {
  const p = parts(new Date(iso), { year: "numeric", month: "2-digit", day: "2-digit" });
  return `${p.year}-${p.month}-${p.day}`;
}

// The organisation's local wall-clock time of an instant, as HH:MM.
function localHHMM(iso) {
  const p = parts(new Date(iso), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${p.hour}:${p.minute}`;
}

function today() {
  return localDate(new Date().toISOString());
}

function timeText(iso) {
  return new Intl.DateTimeFormat(state.locale, {
    timeZone: state.timezone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(iso));
}

function rangeText(startsAt, endsAt) {
  const text = `${timeText(startsAt)}–${timeText(endsAt)}`;
  const nextDay = localDate(endsAt) !== localDate(startsAt) && localHHMM(endsAt) !== "00:00";
  return nextDay ? `${text} ${t("roster.time.next_day")}` : text;
}

function dayText(day, options = { weekday: "long", day: "numeric", month: "long" }) {
  return new Intl.DateTimeFormat(state.locale, { timeZone: "UTC", ...options }).format(dateAt(day));
}

// Headings start with a capital even where weekdays are lower case in running
// text (Finnish, Swedish).
function capitalised(text) {
  return text ? text.charAt(0).toLocaleUpperCase(state.locale) + text.slice(1) : text;
}

function weekdayName(index) {
  // 2024-01-01 was a Monday.
  return dayText(addDays("2024-01-01", index), { weekday: "long" });
}

function languageName(code) {
  try {
    return new Intl.DisplayNames([state.locale], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

function languagesText(codes) {
  return codes && codes.length ? codes.map(languageName).join(", ") : t("roster.languages.any");
}

function personText(person) {
  return person.display_name ? t("roster.person", { alias: person.alias, name: person.display_name }) : person.alias;
}

// ------------------------------------------------------------ messages

function announce(text) {
  announceIn($("status"), text);
}

function showError(text) {
  const node = $("error");
  node.textContent = text || "";
  node.hidden = !text;
}

function errorText(error) {
  const code = (error && error.code) || "unknown";
  const known = {
    conflict: "roster.error.conflict",
    release_too_late: "roster.error.release_too_late",
    forbidden: "roster.error.forbidden",
    not_found: "roster.error.not_found",
    unauthenticated: "roster.error.unauthenticated",
    origin_not_allowed: "roster.error.origin",
    network: "roster.error.network",
  };
  if (known[code]) return t(known[code]);
  if (code === "invalid_request") return t("roster.error.invalid", { detail: (error && error.message) || "" });
  return t("roster.error.other", { code });
}

// Run one change against the server; on success announce it and reload.
async function change(run, success, focusKey) {
  if (state.busy) return false;
  state.busy = true;
  showError(null);
  document.body.setAttribute("aria-busy", "true");
  try {
    const result = await run();
    if (!result.ok) {
      showError(errorText(result.error));
      if (result.status === 401) showSignedOut();
      else await reload(focusKey); // the week may have changed under us
      return false;
    }
    await reload(focusKey);
    announce(typeof success === "function" ? success(result.data) : success);
    return true;
  } finally {
    state.busy = false;
    document.body.removeAttribute("aria-busy");
  }
}

// A small accessible confirmation (a modal <dialog>, focus returns after).
function confirmAction(text, yesLabel) {
  const dialog = $("confirm-dialog");
  const opener = document.activeElement;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yesLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (opener && opener.isConnected) opener.focus();
        resolve(dialog.returnValue === "yes");
      },
      { once: true },
    );
    dialog.showModal();
    $("confirm-no").focus();
  });
}

// ------------------------------------------------------------ loading

async function loadWeek() {
  const query = `from=${state.from}&to=${addDays(state.from, 6)}`;
  const [week, mine] = await Promise.all([api("GET", `/api/roster?${query}`), api("GET", `/api/roster/mine?${query}`)]);
  if (!week.ok) {
    if (week.status === 401) return showSignedOut();
    showError(errorText(week.error));
    return;
  }
  state.week = week.data;
  state.timezone = week.data.timezone || state.timezone;
  state.mine = mine.ok && Array.isArray(mine.data.shifts) ? mine.data.shifts : [];
}

async function loadManagerData() {
  if (!state.manager) return;
  const [slots, staff] = await Promise.all([api("GET", "/api/roster/slots"), api("GET", "/api/staff")]);
  if (slots.ok) {
    state.slots = slots.data.slots || [];
    state.exceptions = slots.data.exceptions || [];
  } else {
    showError(errorText(slots.error));
  }
  if (staff.ok) state.staff = (staff.data.staff || []).filter((s) => !s.disabled);
}

async function reload(focusKey) {
  await Promise.all([loadWeek(), loadManagerData()]);
  render();
  if (focusKey) restoreFocus(focusKey);
}

// After a re-render the control that was used is gone: move focus to a
// stable landmark of what was changed (an occurrence's or slot's heading).
function restoreFocus(key) {
  const target = document.querySelector(`[data-focus="${CSS.escape(key)}"]`) || $(key);
  if (!target) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
}

async function goToWeek(monday) {
  state.from = monday;
  const url = new URL(window.location.href);
  url.searchParams.set("week", monday);
  history.replaceState(null, "", url);
  showError(null);
  await loadWeek();
  render();
}

// ------------------------------------------------------------ rendering

function render() {
  if (!state.week) return;
  renderWeek();
  renderMine();
  if (state.manager) renderSlots();
}

function renderWeek() {
  const from = state.from;
  const to = addDays(from, 6);
  $("week-title").textContent = t("roster.week.title", {
    from: dayText(from, { day: "numeric", month: "long" }),
    to: dayText(to, { day: "numeric", month: "long", year: "numeric" }),
  });
  $("week-tz").textContent = t("roster.week.timezone", { timezone: state.timezone });
  const gaps = state.week.gaps || 0;
  const gapsNode = $("week-gaps");
  gapsNode.textContent =
    gaps === 0 ? t("roster.week.gaps_none") : gaps === 1 ? t("roster.week.gaps_one") : t("roster.week.gaps_many", { n: gaps });
  gapsNode.classList.toggle("has-gaps", gaps > 0);

  const byDay = new Map();
  for (let i = 0; i < 7; i += 1) byDay.set(addDays(from, i), []);
  for (const occ of state.week.occurrences || []) {
    if (byDay.has(occ.date)) byDay.get(occ.date).push({ kind: "occ", at: occ.starts_at, occ });
  }
  for (const shift of state.week.other_shifts || []) {
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

function exceptionFor(slotId, day) {
  return state.exceptions.find((e) => e.slot_id === slotId && e.date === day) || null;
}

function renderOccurrence(occ) {
  const key = `${occ.slot_id}:${occ.date}`;
  const range = rangeText(occ.starts_at, occ.ends_at);
  const when = `${dayText(occ.date)}, ${range}`;
  const mine = occ.staff.find((s) => s.staff_id === state.me.id);
  const started = Date.parse(occ.starts_at) <= Date.now();
  const over = Date.parse(occ.ends_at) <= Date.now();
  const exception = state.manager ? exceptionFor(occ.slot_id, occ.date) : null;

  const classes = ["occ"];
  if (occ.cancelled) classes.push("occ-cancelled");
  else if (occ.missing > 0) classes.push("occ-gap");
  else classes.push("occ-full");
  if (mine) classes.push("occ-mine");

  const badges = el("p", { class: "occ-badges" });
  if (occ.cancelled) badges.append(el("span", { class: "badge-tag tag-cancelled", text: t("roster.occ.cancelled") }));
  else if (occ.missing > 0)
    badges.append(
      el("span", {
        class: "badge-tag tag-gap",
        text: occ.missing === 1 ? t("roster.occ.open_one") : t("roster.occ.open_many", { n: occ.missing }),
      }),
    );
  else badges.append(el("span", { class: "badge-tag tag-full", text: t("roster.occ.full") }));
  if (mine) badges.append(el("span", { class: "badge-tag tag-mine", text: t("roster.occ.yours") }));
  if (exception && !exception.cancelled) badges.append(el("span", { class: "badge-tag", text: t("roster.occ.changed") }));

  const staffList = occ.staff.length
    ? el(
        "ul",
        { class: "occ-staff", "aria-label": t("roster.occ.staff_label") },
        ...occ.staff.map((person) =>
          el(
            "li",
            {},
            el("span", { class: "person", text: personText(person) }),
            person.staff_id === state.me.id ? el("span", { class: "muted", text: ` (${t("roster.occ.you")})` }) : null,
            state.manager
              ? el("button", {
                  type: "button",
                  class: "btn btn-small btn-danger",
                  text: t("roster.manage.remove"),
                  "aria-label": t("roster.manage.remove_label", { person: person.alias, when }),
                  onclick: () => removeAssignment(occ, person, when, key),
                })
              : null,
          ),
        ),
      )
    : el("p", { class: "muted occ-nobody", text: occ.cancelled ? "" : t("roster.occ.nobody") });

  const actions = el("div", { class: "actions occ-actions" });
  if (!occ.cancelled && !over && !mine && occ.missing > 0) {
    actions.append(
      el("button", {
        type: "button",
        class: "btn btn-primary",
        text: t("roster.occ.sign_up"),
        "aria-label": t("roster.occ.sign_up_label", { when }),
        onclick: () => signUp(occ, when, key),
      }),
    );
  }
  if (mine && !started) {
    actions.append(
      el("button", {
        type: "button",
        class: "btn btn-secondary",
        text: t("roster.occ.release"),
        "aria-label": t("roster.occ.release_label", { when }),
        onclick: () => release(occ, when, key),
      }),
    );
  }

  const meta = [
    t("roster.occ.needed", { n: occ.needed }),
    t("roster.occ.languages", { languages: languagesText(occ.languages) }),
  ].join(" · ");

  return el(
    "li",
    { class: classes.join(" "), dataset: { key } },
    el(
      "h4",
      { class: "occ-time", tabindex: "-1", dataset: { focus: key } },
      el("span", { class: "occ-range", text: range }),
    ),
    badges,
    el("p", { class: "occ-meta muted", text: meta }),
    occNote(occ) ? el("p", { class: "occ-note", text: occNote(occ) }) : null,
    staffList,
    actions.childElementCount ? actions : null,
    state.manager ? renderOccurrenceManager(occ, key, when, exception, over) : null,
  );
}

// The date's own note; managers also see the slot's note (the roster answer
// carries only the date's note, and staff cannot read slots).
function occNote(occ) {
  if (occ.note) return occ.note;
  const slot = state.manager ? state.slots.find((s) => s.id === occ.slot_id) : null;
  return slot ? slot.note : "";
}

function renderExtra(shift) {
  const mine = shift.staff_id === state.me.id;
  return el(
    "li",
    { class: mine ? "occ occ-extra occ-mine" : "occ occ-extra" },
    el("h4", { class: "occ-time" }, el("span", { class: "occ-range", text: rangeText(shift.starts_at, shift.ends_at) })),
    el("p", { class: "occ-badges" }, el("span", { class: "badge-tag", text: t("roster.occ.extra") })),
    shift.note ? el("p", { class: "occ-note", text: shift.note }) : null,
    el("ul", { class: "occ-staff" }, el("li", { text: personText(shift) })),
  );
}

function keepOpen(details, key) {
  details.open = state.open.has(key);
  details.addEventListener("toggle", () => (details.open ? state.open.add(key) : state.open.delete(key)));
  return details;
}

function field(label, input, extraClass) {
  return el("label", { class: extraClass ? `field ${extraClass}` : "field" }, el("span", { text: label }), input);
}

function renderOccurrenceManager(occ, key, when, exception, over) {
  const body = el("div", { class: "occ-manage-body" });
  // One optional note for this date, sent with "cancel" and "change times".
  const note = el("input", { type: "text", maxlength: "500", value: exception ? exception.note : "" });
  const withNote = (payload) => (note.value.trim() ? { ...payload, note: note.value.trim() } : payload);
  body.append(field(t("roster.manage.date_note"), note, "field-wide"));

  if (!occ.cancelled) {
    const start = el("input", { type: "time", required: true, value: localHHMM(occ.starts_at) });
    const end = el("input", { type: "time", required: true, value: localHHMM(occ.ends_at) });
    body.append(
      el(
        "form",
        {
          class: "inline-form",
          onsubmit: (event) => {
            event.preventDefault();
            if (!start.value || !end.value) return showError(t("roster.error.times_required"));
            change(
              () => api("PUT", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}`, withNote({ start: start.value, end: end.value })),
              (data) => t("roster.status.times_changed", { when: dayText(occ.date), removed: data.removed || 0 }),
              key,
            );
          },
        },
        field(t("roster.manage.start"), start),
        field(t("roster.manage.end"), end),
        el("button", { type: "submit", class: "btn btn-secondary", text: t("roster.manage.change_times") }),
      ),
    );

    const candidates = state.staff.filter((s) => !occ.staff.some((p) => p.staff_id === s.id));
    if (candidates.length && !over) {
      const select = el(
        "select",
        { required: true },
        ...candidates.map((s) => el("option", { value: String(s.id), text: personText(s) })),
      );
      body.append(
        el(
          "form",
          {
            class: "inline-form",
            onsubmit: (event) => {
              event.preventDefault();
              const person = candidates.find((s) => String(s.id) === select.value);
              if (!person) return;
              change(
                () => api("POST", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}/staff`, { staff_id: person.id }),
                t("roster.status.assigned", { person: person.alias, when }),
                key,
              );
            },
          },
          field(t("roster.manage.staff_member"), select),
          el("button", { type: "submit", class: "btn btn-secondary", text: t("roster.manage.assign") }),
        ),
      );
    }
  }

  const buttons = el("div", { class: "actions" });
  if (!occ.cancelled) {
    buttons.append(
      el("button", {
        type: "button",
        class: "btn btn-danger",
        text: t("roster.manage.cancel_date"),
        onclick: async () => {
          const text = occ.staff.length ? t("roster.confirm.cancel_date_staffed", { when }) : t("roster.confirm.cancel_date", { when });
          if (!(await confirmAction(text, t("roster.manage.cancel_date")))) return;
          change(
            () => api("PUT", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}`, withNote({ cancelled: true })),
            t("roster.status.cancelled", { when }),
            key,
          );
        },
      }),
    );
  }
  if (exception || occ.cancelled) {
    buttons.append(
      el("button", {
        type: "button",
        class: "btn btn-secondary",
        text: t("roster.manage.restore"),
        onclick: () =>
          change(
            () => api("DELETE", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}`),
            t("roster.status.restored", { when: dayText(occ.date) }),
            key,
          ),
      }),
    );
  }
  body.append(buttons);

  const details = el(
    "details",
    { class: "occ-manage" },
    el("summary", { text: t("roster.manage.this_date") }),
    body,
  );
  return keepOpen(details, `occ:${key}`);
}

function renderMine() {
  const shifts = [...state.mine].sort((a, b) => a.starts_at.localeCompare(b.starts_at));
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

// ------------------------------------------------------------ calendar feeds

function renderCalendar(container, scope) {
  const prefix = `cal-${scope}`;
  const output = el("div", { class: "cal-output", hidden: true });
  const input = el("input", { id: `${prefix}-url`, type: "text", readonly: true, class: "cal-url", spellcheck: "false" });
  const copy = el("button", { type: "button", class: "btn btn-secondary", text: t("roster.calendar.copy") });
  output.append(
    el("label", { for: input.id, text: t(scope === "all" ? "roster.calendar.url_all" : "roster.calendar.url_own") }),
    el("div", { class: "cal-row" }, input, copy),
    el("p", { class: "muted hint", text: t("roster.calendar.shown_once") }),
  );
  const create = el("button", {
    type: "button",
    class: "btn btn-primary",
    text: t(scope === "all" ? "roster.calendar.create_all" : "roster.calendar.create_own"),
  });
  const revoke = el("button", {
    type: "button",
    class: "btn btn-danger",
    text: t(scope === "all" ? "roster.calendar.revoke_all" : "roster.calendar.revoke_own"),
  });

  create.addEventListener("click", async () => {
    showError(null);
    create.disabled = true;
    const result = await api("POST", "/api/roster/calendar", { scope });
    create.disabled = false;
    if (!result.ok) return showError(errorText(result.error));
    input.value = result.data.url;
    output.hidden = false;
    input.focus();
    input.select();
    announce(t("roster.status.calendar_created"));
  });
  copy.addEventListener("click", async () => {
    input.focus();
    input.select();
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch {
      try {
        copied = document.execCommand("copy");
      } catch {
        copied = false;
      }
    }
    announce(t(copied ? "roster.status.copied" : "roster.status.copy_failed"));
  });
  revoke.addEventListener("click", async () => {
    if (!(await confirmAction(t("roster.confirm.revoke_calendar"), revoke.textContent))) return;
    showError(null);
    const result = await api("DELETE", `/api/roster/calendar?scope=${scope}`);
    if (!result.ok) return showError(errorText(result.error));
    input.value = "";
    output.hidden = true;
    announce(t("roster.status.calendar_revoked"));
  });

  const heading =
    scope === "all" ? el("h3", { class: "cal-scope", text: t("roster.calendar.all_title") }) : null;
  container.replaceChildren(
    ...[heading, el("div", { class: "actions" }, create, revoke), output].filter(Boolean),
  );
}

// ------------------------------------------------------------ staff actions

function signUp(occ, when, key) {
  return change(
    () => api("POST", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}/staff`, {}),
    t("roster.status.signed_up", { when }),
    key,
  );
}

function release(occ, when, key) {
  return change(
    () => api("DELETE", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}/staff/${state.me.id}`),
    t("roster.status.released", { when }),
    key,
  );
}

async function removeAssignment(occ, person, when, key) {
  if (!(await confirmAction(t("roster.confirm.remove", { person: person.alias, when }), t("roster.manage.remove")))) return;
  change(
    () => api("DELETE", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}/staff/${person.staff_id}`),
    t("roster.status.removed", { person: person.alias, when }),
    key,
  );
}

// ------------------------------------------------------------ slot forms

// The fields of a slot form; `slot` fills them for editing (null: a new slot).
function slotFields(slot, idPrefix) {
  const isNew = !slot;
  const f = {};
  f.kindWeekly = el("input", { type: "radio", name: `${idPrefix}-kind`, value: "weekly", checked: isNew || slot.kind === "weekly" });
  f.kindOnce = el("input", { type: "radio", name: `${idPrefix}-kind`, value: "once", checked: !isNew && slot.kind === "once" });
  f.weekday = el(
    "select",
    {},
    ...[0, 1, 2, 3, 4, 5, 6].map((i) =>
      el("option", { value: String(i), text: weekdayName(i), selected: slot && slot.weekday === i }),
    ),
  );
  f.date = el("input", { type: "date", value: slot && slot.date ? slot.date : "" });
  f.start = el("input", { type: "time", required: true, value: slot ? slot.start : "" });
  f.end = el("input", { type: "time", required: true, value: slot ? slot.end : "" });
  f.needed = el("input", { type: "number", min: "1", max: "50", step: "1", required: true, value: String(slot ? slot.needed : 1), inputmode: "numeric" });
  f.languages = state.offered.map((code) =>
    el("input", { type: "checkbox", value: code, checked: slot ? slot.languages.includes(code) : false }),
  );
  f.validFrom = el("input", { type: "date", value: slot && slot.valid_from ? slot.valid_from : "" });
  f.validUntil = el("input", { type: "date", value: slot && slot.valid_until ? slot.valid_until : "" });
  f.note = el("input", { type: "text", maxlength: "500", value: slot ? slot.note : "" });

  const weeklyOnly = el(
    "div",
    { class: "form-row" },
    field(t("roster.slot.weekday"), f.weekday),
    field(t("roster.slot.valid_from"), f.validFrom),
    field(t("roster.slot.valid_until"), f.validUntil),
  );
  const onceOnly = el("div", { class: "form-row" }, field(t("roster.slot.date"), f.date));
  const sync = () => {
    const weekly = f.kindWeekly.checked;
    weeklyOnly.hidden = !weekly;
    onceOnly.hidden = weekly;
  };
  f.kindWeekly.addEventListener("change", sync);
  f.kindOnce.addEventListener("change", sync);
  sync();

  const nodes = [];
  if (isNew) {
    nodes.push(
      el(
        "fieldset",
        { class: "choice" },
        el("legend", { text: t("roster.slot.kind") }),
        el("label", { class: "check" }, f.kindWeekly, el("span", { text: t("roster.slot.kind_weekly") })),
        el("label", { class: "check" }, f.kindOnce, el("span", { text: t("roster.slot.kind_once") })),
      ),
    );
  }
  if (isNew || slot.kind === "weekly") nodes.push(weeklyOnly);
  if (isNew || slot.kind === "once") nodes.push(onceOnly);
  nodes.push(
    el(
      "div",
      { class: "form-row" },
      field(t("roster.slot.start"), f.start),
      field(t("roster.slot.end"), f.end),
      field(t("roster.slot.needed"), f.needed, "field-narrow"),
    ),
    el(
      "fieldset",
      { class: "choice" },
      el("legend", { text: t("roster.slot.languages") }),
      ...f.languages.map((box) => el("label", { class: "check" }, box, el("span", { text: languageName(box.value) }))),
    ),
    field(t("roster.slot.note"), f.note, "field-wide"),
  );
  return { f, nodes, kind: () => (isNew ? (f.kindWeekly.checked ? "weekly" : "once") : slot.kind) };
}

// The request body of a slot form, or an error text.
function slotBody(form, isNew) {
  const { f } = form;
  const kind = form.kind();
  if (!f.start.value || !f.end.value) return { error: t("roster.error.times_required") };
  const needed = Number(f.needed.value);
  if (!Number.isInteger(needed) || needed < 1 || needed > 50) return { error: t("roster.error.needed") };
  const body = {
    start: f.start.value,
    end: f.end.value,
    needed,
    languages: f.languages.filter((box) => box.checked).map((box) => box.value),
    note: f.note.value.trim(),
  };
  if (kind === "weekly") {
    body.weekday = Number(f.weekday.value);
    if (f.validFrom.value) body.valid_from = f.validFrom.value;
    if (f.validUntil.value) body.valid_until = f.validUntil.value;
    else if (!isNew) body.valid_until = null;
  } else {
    if (!f.date.value) return { error: t("roster.error.date_required") };
    body.date = f.date.value;
  }
  if (isNew) body.kind = kind;
  return { body };
}

function slotSummary(slot) {
  const times = `${slot.start}–${slot.end}`;
  const when =
    slot.kind === "weekly"
      ? t("roster.slot.summary_weekly", { weekday: weekdayName(slot.weekday), times })
      : t("roster.slot.summary_once", { date: dayText(slot.date, { weekday: "long", day: "numeric", month: "long", year: "numeric" }), times });
  const parts = [when, t("roster.occ.needed", { n: slot.needed }), languagesText(slot.languages)];
  if (slot.kind === "weekly") {
    parts.push(
      slot.valid_until
        ? t("roster.slot.valid_range", { from: slot.valid_from, until: slot.valid_until })
        : t("roster.slot.valid_open", { from: slot.valid_from }),
    );
  }
  return parts.join(" · ");
}

function installNewSlotForm() {
  const formNode = $("new-slot");
  let form = slotFields(null, "new");
  const submit = el("button", { type: "submit", class: "btn btn-primary", text: t("roster.slot.create") });
  formNode.replaceChildren(...form.nodes, el("div", { class: "actions" }, submit));
  formNode.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { body, error } = slotBody(form, true);
    if (error) return showError(error);
    const ok = await change(
      () => api("POST", "/api/roster/slots", body),
      (data) => t("roster.status.slot_created", { slot: slotSummary(data.slot) }),
    );
    if (ok) {
      form = slotFields(null, "new");
      formNode.replaceChildren(...form.nodes, el("div", { class: "actions" }, submit));
    }
  });
}

function renderSlots() {
  $("slots-empty").hidden = state.slots.length > 0;
  $("slot-list").replaceChildren(
    ...state.slots.map((slot) => {
      const key = `slot:${slot.id}`;
      const form = slotFields(slot, `slot-${slot.id}`);
      const formNode = el(
        "form",
        {
          class: "slot-form",
          novalidate: true,
          onsubmit: (event) => {
            event.preventDefault();
            const { body, error } = slotBody(form, false);
            if (error) return showError(error);
            change(
              () => api("PATCH", `/api/roster/slots/${slot.id}`, body),
              (data) => t("roster.status.slot_saved", { moved: data.moved || 0, removed: data.removed || 0 }),
              key,
            );
          },
        },
        ...form.nodes,
        el("div", { class: "actions" }, el("button", { type: "submit", class: "btn btn-primary", text: t("roster.slot.save") })),
      );
      const summary = slotSummary(slot);
      const exceptions = state.exceptions
        .filter((e) => e.slot_id === slot.id)
        .map((e) =>
          e.cancelled
            ? t("roster.slot.exception_cancelled", { date: e.date })
            : t("roster.slot.exception_times", { date: e.date, times: `${e.start || slot.start}–${e.end || slot.end}` }),
        );
      return el(
        "li",
        { class: "slot" },
        el("p", { class: "slot-summary", tabindex: "-1", dataset: { focus: key }, text: summary }),
        slot.note ? el("p", { class: "occ-note", text: slot.note }) : null,
        exceptions.length ? el("p", { class: "muted slot-exceptions", text: t("roster.slot.exceptions", { list: exceptions.join(", ") }) }) : null,
        keepOpen(el("details", { class: "slot-edit" }, el("summary", { text: t("roster.slot.edit") }), formNode), key),
        el(
          "div",
          { class: "actions" },
          el("button", {
            type: "button",
            class: "btn btn-danger",
            text: t("roster.slot.retire"),
            "aria-label": t("roster.slot.retire_label", { slot: summary }),
            onclick: async () => {
              if (!(await confirmAction(t("roster.confirm.retire", { slot: summary }), t("roster.slot.retire")))) return;
              change(
                () => api("DELETE", `/api/roster/slots/${slot.id}`),
                (data) => t("roster.status.slot_retired", { removed: data.removed || 0 }),
                "slots-title",
              );
            },
          }),
        ),
      );
    }),
  );
}

// ------------------------------------------------------------ sign-in state

function showSignedOut() {
  $("loading").hidden = true;
  $("roster-view").hidden = true;
  $("signed-out").hidden = false;
  $("whoami").textContent = "";
}

// ------------------------------------------------------------ boot

async function boot() {
  const params = new URLSearchParams(window.location.search);
  const wanted = params.get("lang") ? [params.get("lang")] : [...(navigator.languages || [navigator.language])];
  const lang = await loadLanguage(pickLanguage(wanted, CATALOGUES));
  state.locale = localeFor(lang);
  translateDom();
  document.title = t("roster.title");

  const session = await fetchMe();
  if (!session.ok) {
    if (session.status === 401) return showSignedOut();
    $("loading").hidden = true;
    return showError(errorText(session.error));
  }
  state.me = session.data.staff;
  state.manager = MANAGER_ROLES.has(state.me.role);
  mountNav($("site-nav"), state.me.role, "/roster/");
  $("whoami").textContent = t("roster.signed_in_as", { alias: state.me.alias, name: state.me.display_name || state.me.username });

  const status = await fetchStatus();
  if (status.ok) {
    state.offered = Array.isArray(status.data.languages) ? status.data.languages : [];
    if (status.data.timezone) state.timezone = status.data.timezone;
  }
  const asked = params.get("week");
  state.from = mondayOf(isDate(asked) ? asked : today());

  $("prev-week").addEventListener("click", () => goToWeek(addDays(state.from, -7)));
  $("next-week").addEventListener("click", () => goToWeek(addDays(state.from, 7)));
  $("this-week").addEventListener("click", () => goToWeek(mondayOf(today())));

  renderCalendar($("cal-own"), "own");
  if (state.manager) {
    $("manage").hidden = false;
    $("cal-all").hidden = false;
    renderCalendar($("cal-all"), "all");
    installNewSlotForm();
  }
  await reload();
  $("loading").hidden = true;
  $("roster-view").hidden = false;
}

boot();
