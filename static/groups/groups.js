// The moderator view of peer group sessions (docs/protocol.md §13): coming
// sessions with sign-up, and for a running one the room on /moderate —
// participants by nickname (mute, remove, invite to a private chat), messages
// (remove, pin a moderator's), reports, pause, slow mode, pin the rules, end.
// Message text is shown, never stored.

import { io } from "/static/vendor/socket.io.esm.min.js";
import { t, translateDom } from "../i18n/i18n.js";
import { api, me as fetchMe } from "../shared/api.js";
import { $, el, formatTime } from "../shared/dom.js";
import { loadPageLanguage } from "../shared/language.js";
import { mountNav } from "../shared/nav.js";
import { call, errorCode } from "../shared/rpc.js";
import { announce } from "../shared/status.js";

const state = {
  me: null, lang: "en", room: null, socket: null, messages: new Map(), participants: [], paused: false, planLanguages: [],
};

function title(session) {
  return session.titles[state.lang] || session.titles.en || Object.values(session.titles)[0] || session.room_id;
}

function showError(code) {
  const node = $("error");
  node.textContent = t("console.group.error", { code });
  node.hidden = false;
}

async function loadSessions() {
  const reply = await api("GET", "/api/roster/group-sessions?days=28");
  if (!reply.ok) return showError(reply.error.code);
  const now = Date.now();
  $("sessions").replaceChildren(
    ...reply.data.sessions.map((s) => {
      const running = Date.parse(s.starts_at) <= now && now < Date.parse(s.ends_at);
      const mine = s.moderators.includes(state.me.id);
      const when = `${formatTime(s.starts_at, state.lang)}–${formatTime(s.ends_at, state.lang)} ${s.date}`;
      return el(
        "li",
        {},
        el("span", { class: "group-when" }, `${title(s)} · ${when}`),
        running
          ? el("button", { type: "button", class: "btn btn-primary", onclick: () => openRoom(s) }, t("console.group.moderate"))
          : null,
        el(
          "button",
          { type: "button", class: "btn btn-secondary", onclick: () => signUp(s, mine) },
          t(mine ? "console.group.release" : "console.group.sign_up"),
        ),
      );
    }),
  );
  $("sessions-view").hidden = false;
}

async function signUp(session, mine) {
  const path = `/api/roster/groups/${session.group_id}/dates/${session.date}/moderators`;
  const reply = mine ? await api("DELETE", `${path}/${state.me.id}`) : await api("POST", path, {});
  if (!reply.ok) return showError(reply.error.code);
  announce($("status"), t(mine ? "console.group.released" : "console.group.signed_up"));
  return loadSessions();
}

// The nickname a button acts on, for screen readers: the visible label stays the start of its name.
function hidden(name) {
  return el("span", { class: "visually-hidden" }, ` ${name}`);
}

function renderLog() {
  const items = [...state.messages.values()].sort((a, b) => a.seq - b.seq);
  $("log").replaceChildren(
    ...items.map((m) =>
      el(
        "li",
        { class: "msg", dataset: { seq: String(m.seq) } },
        el("span", { class: "msg-author" }, m.moderator ? t("console.group.moderator", { name: m.nickname }) : m.nickname),
        el("span", { class: "msg-text" }, m.text),
        el("time", { class: "msg-time", datetime: m.at }, ` ${formatTime(m.at, state.lang)} `),
        el(
          "button",
          { type: "button", class: "btn btn-plain", onclick: () => act("message:remove", { seq: m.seq }) },
          t("console.group.remove_message"),
          hidden(m.nickname),
        ),
        m.moderator
          ? el(
              "button",
              { type: "button", class: "btn btn-plain", onclick: () => act("group:pin", { seq: m.seq }) },
              t("console.group.pin"),
              hidden(m.nickname),
            )
          : null,
      ),
    ),
  );
}

function renderPeople() {
  $("people").replaceChildren(
    ...state.participants.map((p) =>
      el(
        "li",
        {},
        el("span", {}, p.nickname + (p.waiting ? ` (${t("console.group.waiting")})` : "") + (p.muted ? ` (${t("console.group.muted")})` : "")),
        el(
          "button",
          { type: "button", class: "btn btn-secondary", onclick: () => act("participant:mute", { member_id: p.member_id, muted: !p.muted }) },
          t(p.muted ? "console.group.unmute" : "console.group.mute"),
          hidden(p.nickname),
        ),
        el(
          "button",
          { type: "button", class: "btn btn-secondary", onclick: () => invite(p) },
          t("console.group.invite"),
          hidden(p.nickname),
        ),
        el(
          "button",
          { type: "button", class: "btn btn-danger", onclick: () => act("participant:remove", { member_id: p.member_id }) },
          t("console.group.remove"),
          hidden(p.nickname),
        ),
      ),
    ),
  );
}

async function invite(participant) {
  const ack = await act("participant:invite", { member_id: participant.member_id });
  if (ack.ok) announce($("status"), t("console.group.invited", { name: participant.nickname }));
}

function renderState(view) {
  state.paused = view.paused;
  const pinned = view.pinned;
  $("room-pinned").hidden = !pinned;
  $("room-pinned").textContent = !pinned
    ? ""
    : pinned.kind === "rules"
      ? t("console.group.pinned_rules")
      : t("console.group.pinned", { text: pinned.text });
  $("unpin").hidden = !pinned;
  $("room-state").textContent = t("console.group.state", { count: view.participants, waiting: view.waiting, capacity: view.capacity });
  $("pause").textContent = t(view.paused ? "console.group.resume" : "console.group.pause");
  $("slow").value = String(view.slow_seconds);
}

async function act(event, payload) {
  const ack = await call(state.socket, event, { room_id: state.room.room_id, ...payload });
  if (!ack.ok) showError(errorCode(ack));
  else $("error").hidden = true;
  if (ack.ok && ack.state) renderState(ack.state);
  return ack;
}

function socket() {
  if (state.socket) return state.socket;
  const s = io("/moderate", { transports: ["websocket", "polling"] });
  s.on("group:message", (m) => {
    state.messages.set(m.seq, m);
    renderLog();
    if (!m.moderator) $("announce").textContent = t("console.group.announce", { name: m.nickname, text: m.text });
  });
  s.on("group:message_removed", (m) => {
    state.messages.delete(m.seq);
    renderLog();
  });
  s.on("group:participants", (p) => {
    state.participants = p.participants;
    renderPeople();
  });
  s.on("group:state", renderState);
  s.on("group:report", (r) => {
    $("reports").textContent = t("console.group.reported", { seq: r.seq, count: r.reports });
  });
  s.on("group:ended", () => {
    announce($("status"), t("console.group.ended"));
    $("room-view").hidden = true;
    state.messages.clear();
    loadSessions();
  });
  s.on("connect", () => {
    if (state.room) openRoom(state.room);
  });
  state.socket = s;
  return s;
}

async function openRoom(session) {
  state.room = session;
  const s = socket();
  if (!s.connected) await new Promise((resolve) => s.once("connect", resolve));
  const ack = await call(s, "group:moderate", { room_id: session.room_id });
  if (!ack.ok) return showError(errorCode(ack));
  for (const m of ack.messages) state.messages.set(m.seq, m);
  state.participants = ack.participants;
  $("room-title").textContent = title(session);
  renderState(ack.state);
  renderLog();
  renderPeople();
  $("room-view").hidden = false;
  $("room-title").setAttribute("tabindex", "-1");
  $("room-title").focus();
  return ack;
}

let sent = 0;

async function send(event) {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  sent += 1;
  const ack = await act("message:send", { client_id: `mod-${Date.now()}-${sent}`, text });
  if (ack.ok) $("message").value = "";
}

// ------------------------------------------------------------ planning (managers)

async function setUpPlanning() {
  const status = await api("GET", "/api/status");
  const languages = status.ok ? status.data.languages : ["en"];
  state.planLanguages = languages;
  const names = new Intl.DisplayNames([state.lang], { type: "language" });
  $("plan-texts").replaceChildren(
    ...languages.flatMap((code) => [
      el("label", { for: `plan-title-${code}` }, t("console.group.title_in", { language: names.of(code) || code })),
      el("input", { id: `plan-title-${code}`, type: "text", maxlength: "120" }),
      el("label", { for: `plan-rules-${code}` }, t("console.group.rules_in", { language: names.of(code) || code })),
      el("textarea", { id: `plan-rules-${code}`, rows: "3", maxlength: "4000" }),
    ]),
  );
  $("plan-date").value = new Date().toISOString().slice(0, 10);
  $("plan").addEventListener("submit", plan);
  $("plan-view").hidden = false;
}

async function plan(event) {
  event.preventDefault();
  const kind = document.querySelector("input[name=kind]:checked").value;
  const day = $("plan-date").value;
  const titles = {};
  const rules = {};
  for (const code of state.planLanguages) {
    const title = $(`plan-title-${code}`).value.trim();
    const text = $(`plan-rules-${code}`).value.trim();
    if (title) titles[code] = title;
    if (text) rules[code] = text;
  }
  const body = {
    kind, start: $("plan-start").value, end: $("plan-end").value, capacity: Number($("plan-capacity").value),
    titles, rules,
    ...(kind === "weekly" ? { weekday: (new Date(`${day}T12:00:00`).getDay() + 6) % 7, valid_from: day } : { date: day }),
  };
  const reply = await api("POST", "/api/roster/groups", body);
  if (!reply.ok) return showError(reply.error.code);
  $("error").hidden = true;
  announce($("status"), t("console.group.created"));
  return loadSessions();
}

async function main() {
  state.lang = await loadPageLanguage();
  translateDom();
  const who = await fetchMe();
  if (!who.ok) {
    $("signed-out").hidden = false;
    return;
  }
  state.me = who.data.staff;
  mountNav($("site-nav"), state.me.role, "/groups/");
  $("pause").addEventListener("click", () => act("group:pause", { paused: !state.paused }));
  $("pin-rules").addEventListener("click", () => act("group:pin", {}));
  $("unpin").addEventListener("click", () => act("group:unpin", {}));
  $("slow").addEventListener("change", (e) => act("group:slow", { seconds: Number(e.target.value) }));
  $("end").addEventListener("click", () => {
    if (window.confirm(t("console.group.end_confirm"))) act("group:end", {});
  });
  $("composer").addEventListener("submit", send);
  if (state.me.role === "manager" || state.me.role === "admin") await setUpPlanning();
  await loadSessions();
}

main();
