// The phone page for recording an outreach activity after a field visit
// (docs/protocol.md §12): type, date, its counts, a locality of the managed
// list and, only when the organisation allows it, a short note. Every submit
// goes through the outbox (queue.js), so a lost connection never loses an
// entry and a retry never counts one twice.

import { t, translateDom } from "../i18n/i18n.js";
import { api, me as fetchMe, status as fetchStatus } from "../shared/api.js";
import * as dates from "../shared/dates.js";
import { $, el } from "../shared/dom.js";
import { loadPageLanguage, localeOf } from "../shared/language.js";
import { mountNav } from "../shared/nav.js";
import * as page from "../shared/page.js";
import { Outbox } from "./queue.js";

const VIEWS = ["loading", "signed-out", "entry-view"];
const ERRORS = {
  codes: {
    unknown_activity_type: "activities.error.unknown_type",
    unknown_locality: "activities.error.unknown_locality",
    notes_disabled: "activities.error.notes_disabled",
    forbidden: "activities.error.forbidden",
  },
  invalid: "activities.error.invalid",
  other: "activities.error.other",
};

const state = {
  lang: "en",
  locale: "en-GB",
  timezone: "UTC",
  catalogue: null,
  outbox: null,
  manager: false,
  // The entry a manager is correcting (the form then sends PUT, not the outbox).
  correcting: null,
};

function today() {
  return dates.today(state.timezone);
}

function num(value) {
  return new Intl.NumberFormat(state.locale).format(value);
}

function typeOf(code) {
  return state.catalogue.types.find((type) => type.code === code);
}

function measureLabel(code) {
  const measure = state.catalogue.measures.find((m) => m.code === code);
  return measure ? measure.label : code;
}

function localityName(code) {
  const place = state.catalogue.localities.find((p) => p.code === code);
  return place ? place.name : code;
}

function chosenType() {
  const checked = document.querySelector('input[name="type"]:checked');
  return checked ? typeOf(checked.value) : null;
}

// "Field outreach, Oulu: times 2, contacts 9"
function describe(body) {
  const type = typeOf(body.type);
  const order = type ? type.counts.filter((m) => m in body.counts) : Object.keys(body.counts);
  const counts = order.map((m) => `${measureLabel(m).toLowerCase()} ${num(body.counts[m])}`).join(", ");
  const where = body.locality ? `, ${localityName(body.locality)}` : "";
  return `${type ? type.label : body.type}${where}: ${counts}`;
}

// ------------------------------------------------------------ the form

function stepper(measure, value) {
  const id = `count-${measure}`;
  const input = el("input", {
    id, name: measure, type: "number", inputmode: "numeric", min: measure === "times" ? 1 : 0, max: 100000,
    step: 1, value, required: true,
  });
  const step = (delta) => {
    const min = Number(input.min);
    const next = Math.max(min, (Number.parseInt(input.value, 10) || 0) + delta);
    input.value = String(next);
  };
  const label = measureLabel(measure);
  return el("div", { class: "count" },
    el("label", { for: id, text: label }),
    el("div", { class: "stepper" },
      el("button", { type: "button", class: "btn btn-secondary", "aria-label": t("activities.less", { what: label }), onclick: () => step(-1), text: "−" }),
      input,
      el("button", { type: "button", class: "btn btn-secondary", "aria-label": t("activities.more", { what: label }), onclick: () => step(1), text: "+" }),
    ),
  );
}

function renderFields() {
  const type = chosenType();
  $("count-fields").replaceChildren(...(type ? type.counts.map((m) => stepper(m, m === "times" ? 1 : 0)) : []));
  const field = $("locality-field");
  field.hidden = !type || type.locality === "none";
  if (type && type.locality !== "none") {
    const required = type.locality === "required";
    $("locality-label").textContent = t(required ? "activities.locality_required" : "activities.locality_optional");
    $("entry-locality").required = required;
    $("entry-locality").options[0].textContent = t(required ? "activities.locality_choose" : "activities.locality_none");
  }
}

function renderTypes() {
  $("type-list").replaceChildren(...state.catalogue.types.map((type, i) =>
    el("label", { class: "type-option" },
      el("input", { type: "radio", name: "type", value: type.code, checked: i === 0, onchange: renderFields }),
      el("span", { text: type.label }),
    ),
  ));
  const select = $("entry-locality");
  select.replaceChildren(
    el("option", { value: "", text: t("activities.locality_choose") }),
    ...state.catalogue.localities.map((place) => el("option", { value: place.code, text: place.name })),
  );
  $("note-field").hidden = !state.catalogue.notes;
  $("entry-note").maxLength = state.catalogue.note_max_length;
  renderFields();
}

function formError(text, focus) {
  page.showError($("form-error"), text);
  if (text && focus) focus.focus();
}

// The entry of the form, or null (the error is shown and focused).
function readForm() {
  const type = chosenType();
  if (!type) {
    formError(t("activities.error.choose_type"), document.querySelector('input[name="type"]'));
    return null;
  }
  const day = $("entry-date").value;
  if (!dates.isDate(day) || day > today()) {
    formError(t("activities.error.date"), $("entry-date"));
    return null;
  }
  const counts = {};
  for (const measure of type.counts) {
    const input = $(`count-${measure}`);
    const value = Number(input.value);
    if (!/^[0-9]+$/.test(input.value) || value < Number(input.min) || value > 100000) {
      formError(t("activities.error.count", { what: measureLabel(measure) }), input);
      return null;
    }
    counts[measure] = value;
  }
  const body = { date: day, type: type.code, counts };
  const locality = $("entry-locality").value;
  if (type.locality !== "none" && locality) body.locality = locality;
  if (type.locality === "required" && !locality) {
    formError(t("activities.error.locality"), $("entry-locality"));
    return null;
  }
  const note = $("entry-note").value.trim();
  if (state.catalogue.notes && note) body.note = note;
  return body;
}

function announce(text) {
  $("status").textContent = text;
}

// ------------------------------------------------------------ sending

function renderQueue(waiting) {
  $("queue-state").textContent = waiting ? t("activities.queue.waiting", { n: waiting }) : t("activities.queue.empty");
  $("queue-retry").hidden = !waiting;
}

function onFlushed(result) {
  renderQueue(result.waiting);
  for (const { item, error } of result.refused) {
    formError(`${describe(item.body)} — ${page.errorText(error, ERRORS)}`, null);
  }
  if (result.sent.length) {
    const last = result.sent[result.sent.length - 1].item.body;
    announce(result.sent.length === 1
      ? t("activities.saved", { what: describe(last) })
      : t("activities.saved_many", { n: result.sent.length }));
    loadRecent();
  } else if (result.signedOut) {
    announce(t("activities.queued_signed_out", { n: result.waiting }));
  } else if (result.offline && result.waiting) {
    announce(t("activities.queued", { n: result.waiting }));
  }
}

async function submit(event) {
  event.preventDefault();
  formError("");
  const body = readForm();
  if (!body) return;
  if (state.correcting) {
    await sendCorrection(state.correcting, body);
    return;
  }
  state.outbox.add(body);
  $("entry-note").value = "";
  renderFields();
  await state.outbox.flush();
}

// ------------------------------------------------------------ corrections (managers)

function fillForm(entry) {
  const radio = document.querySelector(`input[name="type"][value="${CSS.escape(entry.type)}"]`);
  if (radio) radio.checked = true;
  renderFields();
  $("entry-date").value = entry.date;
  for (const [measure, value] of Object.entries(entry.counts)) {
    const input = $(`count-${measure}`);
    if (input) input.value = String(value);
  }
  $("entry-locality").value = entry.locality || "";
  $("entry-note").value = entry.note || "";
}

function startCorrection(entry) {
  state.correcting = entry.id;
  fillForm(entry);
  $("correcting").textContent = t("activities.correcting", { what: describe(entry) });
  $("correcting").hidden = false;
  $("correct-cancel").hidden = false;
  $("entry-submit").textContent = t("activities.correct_submit");
  document.querySelector('input[name="type"]:checked').focus();
}

function endCorrection() {
  state.correcting = null;
  $("correcting").hidden = true;
  $("correct-cancel").hidden = true;
  $("entry-submit").textContent = t("activities.submit");
  $("entry-note").value = "";
  $("entry-date").value = today();
  renderFields();
}

async function sendCorrection(id, body) {
  const reply = await api("PUT", `/api/activities/${encodeURIComponent(id)}`, body);
  if (!reply.ok) {
    formError(page.errorText(reply.error, ERRORS), $("entry-submit"));
    return;
  }
  endCorrection();
  announce(t("activities.corrected", { what: describe(reply.data.entry) }));
  await loadRecent();
}

async function deleteEntry(entry) {
  if (!(await page.confirmAction(t("activities.delete_confirm", { what: describe(entry) }), t("activities.delete")))) return;
  const reply = await api("DELETE", `/api/activities/${encodeURIComponent(entry.id)}`);
  if (!reply.ok) {
    page.showError($("error"), page.errorText(reply.error, ERRORS));
    return;
  }
  if (state.correcting === entry.id) endCorrection();
  announce(t("activities.deleted", { what: describe(entry) }));
  await loadRecent();
  $("recent-title").focus();
}

async function loadRecent() {
  const to = today();
  const reply = await api("GET", `/api/activities?from=${dates.addDays(to, -30)}&to=${to}`);
  if (!reply.ok) return;
  const items = reply.data.entries.map((entry) =>
    el("li", {},
      el("strong", { text: dates.dayText(entry.date, state.locale, { day: "numeric", month: "short" }) }), " ", describe(entry),
      state.manager ? el("div", { class: "recent-actions" },
        el("button", { type: "button", class: "btn btn-secondary", "aria-label": t("activities.correct_one", { what: describe(entry) }), onclick: () => startCorrection(entry), text: t("activities.correct") }),
        el("button", { type: "button", class: "btn btn-danger", "aria-label": t("activities.delete_one", { what: describe(entry) }), onclick: () => deleteEntry(entry), text: t("activities.delete") }),
      ) : null,
    ),
  );
  $("recent-list").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: t("activities.recent.none") })]));
}

// ------------------------------------------------------------ start

async function boot() {
  state.lang = await loadPageLanguage();
  state.locale = localeOf(state.lang);
  translateDom();
  document.title = t("activities.title");
  const session = await fetchMe();
  $("loading").hidden = true;
  if (!session.ok) {
    if (session.status === 401) page.showSignedOut(VIEWS);
    else page.showError($("error"), page.errorText(session.error, ERRORS));
    return;
  }
  const staff = session.data.staff;
  $("whoami").textContent = t("reports.signed_in_as", { name: staff.display_name || staff.username });
  mountNav($("site-nav"), staff.role, "/activities/");
  state.manager = page.isManager(staff.role);
  if (state.manager) $("recent-title").textContent = t("activities.recent.all_title");
  const [status, catalogue] = await Promise.all([
    fetchStatus(), api("GET", `/api/activities/types?lang=${encodeURIComponent(state.lang)}`),
  ]);
  if (status.ok && status.data.timezone) state.timezone = status.data.timezone;
  if (!catalogue.ok) {
    page.showError($("error"), page.errorText(catalogue.error, ERRORS));
    return;
  }
  state.catalogue = catalogue.data;
  renderTypes();
  $("entry-date").value = today();
  $("entry-date").max = today();
  state.outbox = new Outbox(staff.id, (body) => api("POST", "/api/activities", body));
  state.outbox.onchange = onFlushed;
  $("entry-form").addEventListener("submit", submit);
  $("queue-retry").addEventListener("click", () => state.outbox.flush());
  $("correct-cancel").addEventListener("click", endCorrection);
  window.addEventListener("online", () => state.outbox.flush());
  page.showOnly(VIEWS, "entry-view");
  renderQueue(state.outbox.items().length);
  // Entries queued on an earlier visit go out now.
  if (state.outbox.items().length) await state.outbox.flush();
  await loadRecent();
}

boot();
