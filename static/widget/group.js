// The peer group view of the widget (docs/protocol.md §13): join a running
// session with a nickname and the accepted rules, chat with everyone, resume
// after a dropped connection or a reload of the same tab. The resume token
// lives in sessionStorage only (never a message), which quick exit clears.
// What the moderators pinned shows at the top of the room; a moderator's
// invitation to a private chat is offered here and, accepted, leaves the group
// and starts an ordinary one-to-one chat (the widget's own chat:start).

import { io } from "/static/vendor/socket.io.esm.min.js";
import { t } from "../i18n/i18n.js";
import { call, errorCode } from "../shared/rpc.js";
import { $, el, formatTime } from "../shared/dom.js";

const GROUP_KEY = "dutychat.group"; // widget.js checks it too before it loads this module
const ERROR_KEYS = new Set([
  "group_not_running", "group_full", "nickname_invalid", "nickname_reserved", "nickname_taken",
  "removed_from_group", "muted", "group_paused", "slow_mode", "rules_not_accepted", "rate_limited",
  "still_waiting", "message_too_long",
]);

const group = {
  socket: null,
  session: null, // the running session of /api/status groups the visitor picked (or the only one)
  choices: [], // the running sessions offered, when more than one runs
  choicesKey: "",
  place: null,
  state: null,
  messages: new Map(), // seq -> GroupMessage, this tab's memory only
  phase: "offer", // offer | join | room | ended
  lang: "en",
  clientSeq: 0,
  endedKey: null,
  invited: false,
  // The accepted invitation's one-time token: chat:start brings it, so the chat counts as from the group.
  invitation: null,
};

function saved() {
  try {
    const value = JSON.parse(sessionStorage.getItem(GROUP_KEY));
    return value && typeof value.resume_token === "string" ? value : null;
  } catch {
    return null;
  }
}

function save(token, roomId) {
  try {
    sessionStorage.setItem(GROUP_KEY, JSON.stringify({ resume_token: token, room_id: roomId }));
  } catch {
    /* storage disabled: the place just cannot survive a reload */
  }
}

function forget() {
  try {
    sessionStorage.removeItem(GROUP_KEY);
  } catch {
    /* nothing stored */
  }
}

function errorText(code) {
  return t(ERROR_KEYS.has(code) ? `widget.group.error.${code}` : "widget.group.error.generic");
}

function title(session) {
  if (!session) return "";
  return session.titles[group.lang] || session.titles.en || Object.values(session.titles)[0] || "";
}

function rules(session) {
  if (!session) return "";
  return session.rules[group.lang] || session.rules.en || Object.values(session.rules)[0] || "";
}

function lastSeq() {
  return group.messages.size ? Math.max(...group.messages.keys()) : 0;
}

// ---------------------------------------------------------------- rendering

// Every running session is offered: one by its title, several as a list to pick from (a Thai
// and a Finnish group, say), each by its title in the visitor's language.
function renderOfferOnly(status, phase) {
  const running = status && Array.isArray(status.groups) ? status.groups.filter((s) => s.running) : [];
  if (group.session) group.session = running.find((s) => s.room_id === group.session.room_id) || group.session;
  if (group.phase === "offer" && running.length === 1) group.session = running[0];
  const offer = $("group-offer");
  offer.hidden = !running.length || group.phase !== "offer" || !(phase === "intro" || phase === "closed");
  const many = running.length > 1;
  $("group-offer-title").textContent = many ? t("widget.group.offer_many_title") : running.length ? title(running[0]) : "";
  $("group-offer-text").textContent = t(many ? "widget.group.offer_many" : "widget.group.offer");
  $("group-open").hidden = many;
  const list = $("group-choices");
  list.hidden = !many;
  group.choices = many ? running : [];
  // Rebuilt only when the sessions or the language change: a status poll keeps the focus where it is.
  const key = many ? `${group.lang}|${running.map((s) => `${s.room_id}:${title(s)}`).join("|")}` : "";
  if (key === group.choicesKey) return;
  group.choicesKey = key;
  list.replaceChildren(
    ...group.choices.map((s) =>
      el(
        "li",
        { class: "group-choice" },
        el("button", { type: "button", class: "btn btn-secondary", dataset: { room: s.room_id } },
          t("widget.group.join_named", { title: title(s) })),
      ),
    ),
  );
}

function renderLog() {
  const log = $("group-log");
  const items = [...group.messages.values()].sort((a, b) => a.seq - b.seq);
  log.replaceChildren(
    ...items.map((m) =>
      el(
        "li",
        { class: m.moderator ? "msg msg-staff" : "msg msg-visitor", dataset: { seq: String(m.seq) } },
        el("span", { class: "msg-author" }, m.moderator ? t("widget.group.moderator", { name: m.nickname }) : m.nickname),
        el("span", { class: "msg-text" }, m.text),
        el("time", { class: "msg-time", datetime: m.at }, formatTime(m.at, group.lang)),
      ),
    ),
  );
}

function renderRoom() {
  const place = group.place;
  const state = group.state;
  let status = "";
  if (place && place.status === "waiting") status = t("widget.group.waiting", { position: place.position });
  else if (state && state.paused) status = t("widget.group.paused");
  else if (place && place.muted) status = t("widget.group.muted");
  else if (state && state.slow_seconds) status = t("widget.group.slow", { seconds: state.slow_seconds });
  $("group-status").textContent = status;
  $("group-status").hidden = !status;
  $("group-count").textContent = state ? t("widget.group.count", { count: state.participants }) : "";
  const pinned = state ? state.pinned : null;
  const pinnedText = !pinned ? "" : pinned.kind === "rules" ? rules(group.session) || t("widget.group.pinned_rules") : pinned.text;
  $("group-pinned").hidden = !pinnedText;
  $("group-pinned-text").textContent = pinnedText;
  $("group-invite").hidden = !group.invited;
  $("group-composer").hidden = !place || place.status !== "in";
  renderLog();
}

// Whether the group view replaces the widget's own views.
export function active() {
  return group.phase !== "offer";
}

export function render(status, phase, lang) {
  group.lang = lang;
  renderOfferOnly(status, phase);
  const inGroup = group.phase !== "offer";
  $("view-group").hidden = !inGroup;
  if (!inGroup) return;
  $("group-title").textContent = title(group.session);
  $("group-join").hidden = group.phase !== "join";
  $("group-room").hidden = group.phase !== "room";
  $("group-ended").hidden = group.phase !== "ended";
  if (group.phase === "join") $("group-rules").textContent = rules(group.session);
  if (group.phase === "room") renderRoom();
  if (group.phase === "ended") $("group-ended-text").textContent = t(group.endedKey || "widget.group.ended");
}

let rerender = () => {};
let startChat = () => {};

function setPhase(phase) {
  group.phase = phase;
  rerender();
}

// ---------------------------------------------------------------- the socket

function socket() {
  if (group.socket) return group.socket;
  const s = io("/group", { transports: ["websocket", "polling"], reconnectionDelayMax: 5000 });
  s.on("connect", () => {
    const place = saved();
    if (group.phase === "room" && place) resume(place.resume_token);
  });
  s.on("group:message", (m) => {
    const fresh = !group.messages.has(m.seq);
    group.messages.set(m.seq, m);
    rerender();
    if (fresh && !(group.place && m.nickname === group.place.nickname && !m.moderator)) {
      const name = m.moderator ? t("widget.group.moderator", { name: m.nickname }) : m.nickname;
      $("group-announce").textContent = t("widget.group.announce", { name, text: m.text });
    }
  });
  s.on("group:message_removed", (m) => {
    group.messages.delete(m.seq);
    rerender();
  });
  s.on("group:state", (state) => {
    group.state = state;
    rerender();
  });
  s.on("group:place", (place) => {
    const admitted = group.place && group.place.status === "waiting" && place.status === "in";
    group.place = place;
    rerender();
    if (admitted) {
      const token = saved();
      if (token) resume(token.resume_token, 0);
    }
  });
  s.on("group:typing", (event) => {
    const text = event.typing ? (event.nickname ? t("widget.group.typing_name", { name: event.nickname }) : t("widget.group.typing")) : "";
    $("group-typing").textContent = text;
  });
  s.on("group:invite", () => {
    group.invited = true;
    rerender();
    $("group-announce").textContent = t("widget.group.invite");
  });
  s.on("group:removed", () => end("widget.group.removed"));
  s.on("group:ended", () => end("widget.group.ended"));
  group.socket = s;
  return s;
}

function end(key) {
  forget();
  group.messages.clear();
  group.invited = false;
  group.invitation = null;
  group.endedKey = key;
  setPhase("ended");
  $("group-ended-text").focus();
}

async function resume(token, after = lastSeq()) {
  const ack = await call(socket(), "group:resume", { resume_token: token, last_seq: after });
  if (!ack.ok) {
    if (errorCode(ack) === "resume_failed") end("widget.group.ended");
    return;
  }
  take(ack);
}

function take(ack) {
  group.place = ack.place;
  group.state = ack.state;
  for (const m of ack.messages) group.messages.set(m.seq, m);
  setPhase("room");
}

async function join(event) {
  event.preventDefault();
  const error = $("group-join-error");
  error.hidden = true;
  const s = socket();
  if (!s.connected) await new Promise((resolve) => s.once("connect", resolve));
  const ack = await call(s, "group:join", {
    room_id: group.session.room_id,
    nickname: $("group-nickname").value,
    rules_accepted: $("group-accept").checked,
  });
  if (!ack.ok) {
    error.textContent = errorText(errorCode(ack));
    error.hidden = false;
    return;
  }
  save(ack.resume_token, group.session.room_id);
  take(ack);
  $("group-message").focus();
}

async function send(event) {
  event.preventDefault();
  const box = $("group-message");
  const text = box.value.trim();
  if (!text) return;
  group.clientSeq += 1;
  const ack = await call(group.socket, "message:send", { client_id: `g${Date.now()}-${group.clientSeq}`, text });
  const error = $("group-send-error");
  if (!ack.ok) {
    error.textContent = errorText(errorCode(ack));
    error.hidden = false;
    return;
  }
  error.hidden = true;
  box.value = "";
}

async function leave() {
  if (group.socket) await call(group.socket, "group:leave", {});
  end("widget.group.left");
}

// Accepting the invitation: give up the place, then the widget's ordinary chat flow.
async function acceptInvite() {
  if (group.socket) {
    const ack = await call(group.socket, "invitation:accept", {});
    group.invitation = ack.ok ? ack.invitation : null;
    await call(group.socket, "group:leave", {});
  }
  forget();
  group.messages.clear();
  group.invited = false;
  const invitation = group.invitation;
  group.invitation = null;
  group.place = null;
  group.state = null;
  group.phase = "offer";
  if (group.socket) group.socket.disconnect();
  group.socket = null;
  startChat(invitation);
}

function declineInvite() {
  group.invited = false;
  group.invitation = null;
  rerender();
  if (!$("group-composer").hidden) $("group-message").focus();
  else $("group-log").focus();
}

function open() {
  setPhase("join");
  $("group-nickname").focus();
}

function choose(event) {
  const button = event.target.closest("button[data-room]");
  const picked = button ? group.choices.find((s) => s.room_id === button.dataset.room) : null;
  if (!picked) return;
  group.session = picked;
  open();
}

function close() {
  setPhase("offer");
  const back = group.session ? $("group-choices").querySelector(`button[data-room="${CSS.escape(group.session.room_id)}"]`) : null;
  (back && !$("group-choices").hidden ? back : $("group-open")).focus();
}

export function install(onChange, onPrivateChat) {
  rerender = onChange;
  startChat = onPrivateChat;
  $("group-invite-accept").addEventListener("click", acceptInvite);
  $("group-invite-decline").addEventListener("click", declineInvite);
  $("group-open").addEventListener("click", open);
  $("group-choices").addEventListener("click", choose);
  $("group-back").addEventListener("click", close);
  $("group-done").addEventListener("click", close);
  $("group-join").addEventListener("submit", join);
  $("group-composer").addEventListener("submit", send);
  $("group-leave").addEventListener("click", leave);
  $("group-message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  });
  let typingSent = false;
  $("group-message").addEventListener("input", () => {
    const typing = $("group-message").value.length > 0;
    if (typing !== typingSent && group.place && group.place.status === "in" && !group.place.muted) {
      typingSent = typing;
      call(group.socket, "typing:set", { typing });
    }
  });
  // Quick exit leaves the group as well (fire and forget; the page is replaced next).
  $("quick-exit").addEventListener("click", () => {
    try {
      if (group.socket && group.socket.connected) group.socket.emit("group:leave", {}, () => {});
      if (group.socket) group.socket.disconnect();
    } catch {
      /* leaving anyway */
    }
  }, { capture: true });
  const place = saved();
  if (place) {
    group.phase = "room";
    group.session = { room_id: place.room_id, titles: {}, rules: {} };
    resume(place.resume_token, 0);
  }
}
