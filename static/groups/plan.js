// Peer group sessions on the roster (docs/protocol.md §13.4): the coming
// sessions with moderator sign-up (and, for a running one, "Moderate"), and
// the managers' planning form (weekly or once, a title and rules per
// language, places, the languages it is held in). Mounted by the /groups/
// page and by the roster page; `prefix` keeps element ids apart.

import { t, translateDom } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { el, formatTime } from "../shared/dom.js";
import { sessionTitle } from "./room.js";

const PLAN_MARKUP = (p, h) => `
<section id="${p}plan-view" class="group-plan-view" aria-labelledby="${p}plan-title" hidden>
  <h${h} id="${p}plan-title" data-i18n="console.group.plan">Plan a peer group</h${h}>
  <form id="${p}plan" class="group-plan">
    <fieldset>
      <legend data-i18n="console.group.kind">How often</legend>
      <label><input type="radio" name="${p}kind" value="weekly" checked> <span data-i18n="console.group.weekly">Every week</span></label>
      <label><input type="radio" name="${p}kind" value="once"> <span data-i18n="console.group.once">Once</span></label>
    </fieldset>
    <label for="${p}plan-date" data-i18n="console.group.date">First date</label>
    <input id="${p}plan-date" type="date" required>
    <label for="${p}plan-start" data-i18n="console.group.start">Starts</label>
    <input id="${p}plan-start" type="time" value="18:00" required>
    <label for="${p}plan-end" data-i18n="console.group.end_time">Ends</label>
    <input id="${p}plan-end" type="time" value="19:30" required>
    <label for="${p}plan-capacity" data-i18n="console.group.capacity">Places</label>
    <input id="${p}plan-capacity" type="number" min="2" max="500" value="30" required>
    <fieldset id="${p}plan-languages" class="group-plan-languages">
      <legend data-i18n="console.group.languages">Languages used in the group</legend>
    </fieldset>
    <div id="${p}plan-texts"></div>
    <button type="submit" class="btn btn-primary" data-i18n="console.group.create">Plan</button>
  </form>
</section>`;

const SESSIONS_MARKUP = (p, h) => `
<section id="${p}sessions-view" class="group-sessions-view" aria-labelledby="${p}sessions-title" hidden>
  <h${h} id="${p}sessions-title" data-i18n="console.group.sessions">Coming sessions</h${h}>
  <p id="${p}sessions-empty" class="muted" data-i18n="console.group.none" hidden>No peer group sessions are planned.</p>
  <ul id="${p}sessions" class="group-sessions"></ul>
</section>`;

// The coming sessions. onModerate(session) is offered for a running one (null: not offered).
export function mountSessions({ host, prefix = "", level = 2, me, lang, showError, announce, onModerate = null }) {
  host.insertAdjacentHTML("beforeend", SESSIONS_MARKUP(prefix, level));
  const $ = (id) => document.getElementById(prefix + id);
  translateDom($("sessions-view"));
  let sessions = [];

  async function load() {
    const reply = await api("GET", "/api/roster/group-sessions?days=28");
    if (!reply.ok) return showError(reply.error.code);
    sessions = reply.data.sessions;
    const now = Date.now();
    $("sessions").replaceChildren(
      ...sessions.map((s) => {
        const running = Date.parse(s.starts_at) <= now && now < Date.parse(s.ends_at);
        const mine = s.moderators.includes(me().id);
        const when = `${formatTime(s.starts_at, lang())}–${formatTime(s.ends_at, lang())} ${s.date}`;
        return el(
          "li",
          {},
          el("span", { class: "group-when" }, `${sessionTitle(s, lang())} · ${when}`),
          running && onModerate
            ? el("button", { type: "button", class: "btn btn-primary", onclick: () => onModerate(s) }, t("console.group.moderate"))
            : null,
          el(
            "button",
            { type: "button", class: "btn btn-secondary", onclick: () => signUp(s, mine) },
            t(mine ? "console.group.release" : "console.group.sign_up"),
          ),
        );
      }),
    );
    $("sessions-empty").hidden = sessions.length > 0;
    $("sessions-view").hidden = false;
    return sessions;
  }

  async function signUp(session, mine) {
    const path = `/api/roster/groups/${session.group_id}/dates/${session.date}/moderators`;
    const reply = mine ? await api("DELETE", `${path}/${me().id}`) : await api("POST", path, {});
    if (!reply.ok) return showError(reply.error.code);
    announce(t(mine ? "console.group.released" : "console.group.signed_up"));
    return load();
  }

  return { load, sessions: () => sessions };
}

// The managers' planning form; onCreated() after a session is planned.
export function mountPlanning({ host, prefix = "", level = 2, languages, lang, showError, clearError, announce, onCreated }) {
  host.insertAdjacentHTML("beforeend", PLAN_MARKUP(prefix, level));
  const $ = (id) => document.getElementById(prefix + id);
  translateDom($("plan-view"));
  const names = new Intl.DisplayNames([lang()], { type: "language" });
  $("plan-languages").append(
    ...languages.map((code) =>
      el("label", {}, el("input", { type: "checkbox", value: code, checked: true }), ` ${names.of(code) || code}`),
    ),
  );
  $("plan-texts").replaceChildren(
    ...languages.flatMap((code) => [
      el("label", { for: `${prefix}plan-title-${code}` }, t("console.group.title_in", { language: names.of(code) || code })),
      el("input", { id: `${prefix}plan-title-${code}`, type: "text", maxlength: "120" }),
      el("label", { for: `${prefix}plan-rules-${code}` }, t("console.group.rules_in", { language: names.of(code) || code })),
      el("textarea", { id: `${prefix}plan-rules-${code}`, rows: "3", maxlength: "4000" }),
    ]),
  );
  $("plan-date").value = new Date().toISOString().slice(0, 10);

  async function plan(event) {
    event.preventDefault();
    const kind = $("plan").querySelector(`input[name="${prefix}kind"]:checked`).value;
    const day = $("plan-date").value;
    const held = [...$("plan-languages").querySelectorAll("input:checked")].map((box) => box.value);
    const titles = {};
    const rules = {};
    for (const code of languages) {
      const title = $(`plan-title-${code}`).value.trim();
      const text = $(`plan-rules-${code}`).value.trim();
      if (title) titles[code] = title;
      if (text) rules[code] = text;
    }
    const body = {
      kind, start: $("plan-start").value, end: $("plan-end").value, capacity: Number($("plan-capacity").value),
      languages: held, titles, rules,
      ...(kind === "weekly" ? { weekday: (new Date(`${day}T12:00:00`).getDay() + 6) % 7, valid_from: day } : { date: day }),
    };
    const reply = await api("POST", "/api/roster/groups", body);
    if (!reply.ok) return showError(reply.error.code);
    clearError();
    announce(t("console.group.created"));
    return onCreated();
  }

  $("plan").addEventListener("submit", plan);
  $("plan-view").hidden = false;
}
