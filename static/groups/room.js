// The moderator's room of one running peer group session on /moderate
// (docs/protocol.md §13.2): participants by nickname (mute, remove, invite to a
// private chat), messages (remove, pin a moderator's), reports, pause, slow
// mode, pin the rules, end; other people's messages announced politely.
// Mounted by the /groups/ page and by the staff console: `prefix` keeps its
// element ids apart from the page's own. Message text is shown, never stored.

import { io } from "/static/vendor/socket.io.esm.min.js";
import { t, translateDom } from "../i18n/i18n.js";
import { el, formatTime } from "../shared/dom.js";
import { call, errorCode } from "../shared/rpc.js";

const MARKUP = (p) => `
<section id="${p}room-view" class="group-room-view" aria-labelledby="${p}room-title" hidden>
  <h2 id="${p}room-title" tabindex="-1"></h2>
  <p id="${p}room-state" class="muted"></p>
  <div class="room-controls">
    <button type="button" id="${p}pause" class="btn btn-secondary" data-i18n="console.group.pause">Pause</button>
    <label for="${p}slow" data-i18n="console.group.slow">Slow mode</label>
    <select id="${p}slow">
      <option value="0" data-i18n="console.group.slow_off">Off</option>
      <option value="10">10 s</option>
      <option value="30">30 s</option>
      <option value="60">60 s</option>
    </select>
    <button type="button" id="${p}pin-rules" class="btn btn-secondary" data-i18n="console.group.pin_rules">Pin the rules</button>
    <button type="button" id="${p}unpin" class="btn btn-secondary" data-i18n="console.group.unpin" hidden>Unpin</button>
    <button type="button" id="${p}end" class="btn btn-danger" data-i18n="console.group.end">End the session</button>
  </div>
  <p id="${p}room-pinned" class="group-pinned" hidden></p>
  <div class="room-columns">
    <section aria-labelledby="${p}people-title">
      <h3 id="${p}people-title" data-i18n="console.group.participants">Participants</h3>
      <ul id="${p}people" class="group-people"></ul>
    </section>
    <section aria-labelledby="${p}log-title">
      <h3 id="${p}log-title" data-i18n="console.group.messages">Messages</h3>
      <p id="${p}reports" class="group-reports" role="status"></p>
      <ol id="${p}log" class="log group-log" aria-labelledby="${p}log-title" tabindex="0"></ol>
      <p id="${p}announce" class="visually-hidden" aria-live="polite"></p>
      <form id="${p}composer" class="composer group-composer">
        <label for="${p}message" data-i18n="console.group.write">Write to the group</label>
        <textarea id="${p}message" rows="2"></textarea>
        <button type="submit" class="btn btn-primary" data-i18n="console.group.send">Send</button>
      </form>
    </section>
  </div>
</section>`;

// The nickname a button acts on, for screen readers: the visible label stays the start of its name.
function hidden(name) {
  return el("span", { class: "visually-hidden" }, ` ${name}`);
}

export function sessionTitle(session, lang) {
  return session.titles[lang] || session.titles.en || Object.values(session.titles)[0] || session.room_id;
}

// host: where the room goes; lang(); showError(code); announce(text); onEnded() after group:ended.
export function mountRoom({ host, prefix = "", lang, showError, clearError, announce, onEnded }) {
  host.insertAdjacentHTML("beforeend", MARKUP(prefix));
  const $ = (id) => document.getElementById(prefix + id);
  translateDom($("room-view"));
  const state = { room: null, socket: null, messages: new Map(), participants: [], paused: false, sent: 0 };

  function renderLog() {
    const items = [...state.messages.values()].sort((a, b) => a.seq - b.seq);
    $("log").replaceChildren(
      ...items.map((m) =>
        el(
          "li",
          { class: "msg", dataset: { seq: String(m.seq) } },
          el("span", { class: "msg-author" }, m.moderator ? t("console.group.moderator", { name: m.nickname }) : m.nickname),
          el("span", { class: "msg-text" }, m.text),
          el("time", { class: "msg-time", datetime: m.at }, ` ${formatTime(m.at, lang())} `),
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
          el("button", { type: "button", class: "btn btn-secondary", onclick: () => invite(p) }, t("console.group.invite"), hidden(p.nickname)),
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
    if (ack.ok) announce(t("console.group.invited", { name: participant.nickname }));
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
    else clearError();
    if (ack.ok && ack.state) renderState(ack.state);
    return ack;
  }

  function socket() {
    if (state.socket) return state.socket;
    const s = io("/moderate", { transports: ["websocket", "polling"], forceNew: true });
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
      announce(t("console.group.ended"));
      $("room-view").hidden = true;
      state.messages.clear();
      state.room = null;
      onEnded();
    });
    s.on("connect", () => {
      if (state.room) open(state.room, { focus: false });
    });
    state.socket = s;
    return s;
  }

  async function open(session, { focus = true } = {}) {
    state.room = session;
    const s = socket();
    if (!s.connected) await new Promise((resolve) => s.once("connect", resolve));
    const ack = await call(s, "group:moderate", { room_id: session.room_id });
    if (!ack.ok) return showError(errorCode(ack));
    state.messages.clear();
    for (const m of ack.messages) state.messages.set(m.seq, m);
    state.participants = ack.participants;
    $("room-title").textContent = sessionTitle(session, lang());
    renderState(ack.state);
    renderLog();
    renderPeople();
    $("room-view").hidden = false;
    if (focus) $("room-title").focus();
    return ack;
  }

  async function send(event) {
    event.preventDefault();
    const text = $("message").value.trim();
    if (!text) return;
    state.sent += 1;
    const ack = await act("message:send", { client_id: `mod-${Date.now()}-${state.sent}`, text });
    if (ack.ok) $("message").value = "";
  }

  $("pause").addEventListener("click", () => act("group:pause", { paused: !state.paused }));
  $("pin-rules").addEventListener("click", () => act("group:pin", {}));
  $("unpin").addEventListener("click", () => act("group:unpin", {}));
  $("slow").addEventListener("change", (e) => act("group:slow", { seconds: Number(e.target.value) }));
  $("end").addEventListener("click", () => {
    if (window.confirm(t("console.group.end_confirm"))) act("group:end", {});
  });
  $("composer").addEventListener("submit", send);

  return {
    open,
    current: () => state.room,
    close() {
      if (state.socket) state.socket.disconnect();
      state.socket = null;
      state.room = null;
      $("room-view").hidden = true;
    },
  };
}
