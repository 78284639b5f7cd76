// The visitor's chat. Flow (docs/protocol.md §3):
//   GET /api/status → closed | intro → chat:start → waiting → active → ended
// with chat:resume after every reconnect or reload of the same tab.

import { io } from "/static/vendor/socket.io.esm.min.js";
import { CATALOGUES, FALLBACK, LANGUAGE_NAMES, loadLanguage as loadCatalogue, localeFor, pickLanguage, t, translateDom } from "../i18n/i18n.js";
import { clockFormat } from "../shared/clock.js";
import { call, errorCode, sleep } from "../shared/rpc.js";
import { Sender, Thread, setLinkAllowlist } from "../shared/thread.js";
import { $ } from "../shared/dom.js";
import { TypingNotifier } from "../shared/typing.js";
import * as store from "./store.js";
import * as view from "./view.js";
import { installQuickExit, neutralUrl, quickExit } from "./quick-exit.js";

// The widget's own strings only (keys "widget.…"), not the staff pages'.
const loadLanguage = (lang) => loadCatalogue(lang, "widget");

const params = new URLSearchParams(location.search);
const embedded = params.get("embed") === "1" && window.parent !== window;
// Made hidden by embed.js at page load: wakes for a chat this tab has, or when opened.
const background = embedded && params.get("bg") === "1";
const touch = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
const STAFF_TYPING_TIMEOUT_MS = 15000;
const DEFAULT_MAX_LENGTH = 2000;
const UNSTAFFED_REFRESH_MS = 30000;
// chat:ended reasons (protocol §3.2) plus our own resume_failed.
const ENDED_REASONS = [
  "visitor_left",
  "staff_ended",
  "visitor_timeout",
  "duty_ended",
  "resumed_elsewhere",
  "blocked",
  "resume_failed",
];

const app = {
  status: null,
  lang: FALLBACK,
  offered: CATALOGUES,
  wantedLanguages: [],
  socket: null,
  // phase: loading | error | closed | intro | starting | chat | ended
  phase: "loading",
  errorKey: null,
  token: null,
  chat: null, // last ChatState
  thread: new Thread("visitor"),
  sender: null,
  notes: [],
  endReason: null,
  endNextOpening: null,
  // chat:ended → feedback_ticket: lets this visitor rate once, anonymously.
  // Kept in memory only, never in sessionStorage.
  feedbackTicket: null,
  rating: "hidden", // hidden | asking | sending | thanks
  resuming: false,
  fetching: false,
  lostConnection: false,
  visible: !embedded || !background,
  // Highest seq seen with the widget shown; later staff messages are unread.
  seenSeq: 0,
  unread: 0,
};

// ---------------------------------------------------------------- helpers

function maxLength() {
  const n = app.status && app.status.max_message_length;
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_LENGTH;
}

function staffName() {
  return (app.chat && app.chat.staff_alias) || null;
}

// Only what finds the chat again: Chromium writes sessionStorage to the
// profile on disk, where a phone's next user could read it. Messages live in
// memory only; after a reload chat:resume fetches them from the server.
function persist() {
  if (!app.token) return;
  store.saveChat({
    resume_token: app.token,
    chat_id: app.chat && app.chat.chat_id,
    language: app.lang,
    last_seq: app.seenSeq,
  });
}

// Unread count for the launcher badge: no preview, no sound.

function tellHost(message) {
  if (embedded) window.parent.postMessage(message, "*");
}

function updateUnread() {
  if (app.visible) {
    app.seenSeq = Math.max(app.seenSeq, app.thread.lastSeq);
    app.unread = 0;
  } else {
    app.unread = app.thread.list().filter((m) => m.sender === "staff" && m.seq > app.seenSeq).length;
  }
  tellHost({ type: "dutychat:unread", count: app.unread });
}

function setVisible(visible) {
  app.visible = visible;
  updateUnread();
  persist();
}

function addNote(text, params = {}) {
  app.notes.push({ key: `n:${app.notes.length}`, afterSeq: app.thread.maxSeq, text, params });
}

function newThread(saved) {
  app.thread = new Thread("visitor", saved);
  app.notes = [];
  view.clearLog();
  if (app.sender) app.sender.stop();
  app.sender = new Sender(app.thread, {
    send: (item) => call(app.socket, "message:send", { client_id: item.client_id, text: item.text }),
    chatId: () => app.chat && app.chat.chat_id,
    onChange: () => {
      if (app.visible) app.seenSeq = Math.max(app.seenSeq, app.thread.lastSeq);
      persist();
      renderLog();
    },
    onGap: fetchMissing,
  });
}

// Only accept a #rgb / #rrggbb accent; anything else keeps the default.
function applyColour(raw) {
  const match = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(raw || "");
  if (!match) return;
  let hex = match[1];
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join("");
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  // Pick whichever text colour contrasts more with the accent (WCAG formula).
  const onAccent = 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#111111";
  document.documentElement.style.setProperty("--accent", `#${hex}`);
  document.documentElement.style.setProperty("--on-accent", onAccent);
}

// The organisation's safety text (./safety.js, docs/protocol.md §11): its module and styles
// load only when there is a text, so a widget without one costs one small request.
let safety = null;

async function loadSafety() {
  let texts = null;
  try {
    const response = await fetch("/api/safety-text", { credentials: "omit" });
    if (response.ok) texts = (await response.json()).texts;
    if (!texts || typeof texts !== "object" || !Object.keys(texts).length) return;
    const module = await import("./safety.js");
    await module.installSafety(texts);
    safety = module;
  } catch {
    return;
  }
  render();
}

// ---------------------------------------------------------------- render

function render() {
  const phase = app.phase;
  if (phase === "loading" || phase === "error" || phase === "closed" || phase === "intro") view.showView(phase);
  else view.showView("chat");
  $("lang-offer").hidden = !(phase === "closed" || phase === "intro") || app.offered.length < 2;

  if (phase === "error") view.setText("error-text", t(app.errorKey || "widget.error.generic"));
  if (phase === "closed") {
    const locale = localeFor(app.lang);
    const unstaffed = unstaffedNow();
    view.setText("closed-title", t(unstaffed ? "widget.unstaffed.title" : "widget.closed.title"));
    view.setText(
      "closed-next",
      unstaffed ? expectedText(app.status.expected_at) : view.openingText(app.status && app.status.next_opening, locale),
    );
    view.renderHours(app.status && app.status.opening_hours, locale);
  }
  if (phase === "intro") {
    // A shift runs but nobody answers: say so before the visitor starts (docs/protocol.md, Availability).
    const unstaffed = unstaffedNow();
    const expected = app.status.expected_at ? ` ${expectedText(app.status.expected_at)}` : "";
    if (unstaffed) view.setText("intro-unstaffed", `${t("widget.unstaffed.intro")}${expected}`);
    $("intro-unstaffed").hidden = !unstaffed;
  }
  if (phase === "closed" || phase === "intro") renderDeskHours(phase);
  if (phase === "starting" || phase === "chat" || phase === "ended") renderChat();
  if (safety) safety.renderSafety(app.lang);
  if (!group) {
    loadGroup();
    return;
  }
  group.render(app.status, phase, app.lang);
  if (group.active()) {
    for (const id of ["view-loading", "view-error", "view-closed", "view-intro", "view-chat", "lang-offer"]) $(id).hidden = true;
  }
}

// The peer group view (group.js) is loaded only while a session runs, or when this tab
// is in one (its resume token in sessionStorage): the first load of everyone else stays small.
let group = null;
let groupLoading = false;
const GROUP_STORAGE_KEY = "dutychat.group"; // group.js keeps the tab's place under it

function groupNeeded() {
  if (app.status && Array.isArray(app.status.groups) && app.status.groups.some((s) => s.running)) return true;
  try {
    return sessionStorage.getItem(GROUP_STORAGE_KEY) !== null;
  } catch {
    return false;
  }
}

function loadGroup() {
  if (groupLoading || !groupNeeded()) return;
  groupLoading = true;
  import("./group.js").then(
    (module) => {
      group = module;
      group.install(render, startChat);
      render();
    },
    () => {
      groupLoading = false; // tried again at the next render
    },
  );
}

function renderChat() {
  const chat = app.chat;
  const active = app.phase === "chat" && chat && chat.state === "active";
  const waiting = app.phase === "chat" && chat && chat.state === "waiting";
  let status = "";
  if (app.phase === "starting") status = t("widget.starting");
  else if (waiting) status = view.waitingText(chat, localeFor(app.lang));
  else if (active) status = t("widget.active.with", { alias: staffName() || t("widget.staff_default") });
  view.setText("chat-status", status);
  $("chat-status").hidden = !status;
  const colleague = active && chat.colleague;
  const notice = !colleague
    ? ""
    : colleague.as === "listener"
      ? t("widget.colleague.listening", { alias: colleague.alias })
      : t("widget.colleague.with", { alias: colleague.alias });
  view.setText("colleague-notice", notice);
  $("colleague-notice").hidden = !notice;
  renderDesk(waiting);

  // One may write while waiting (docs/protocol.md, message:send).
  $("composer").hidden = !(active || waiting);
  $("waiting-write").hidden = !waiting;
  $("leave").hidden = !(waiting || active);
  $("view-chat").classList.toggle("is-ended", app.phase === "ended");
  $("ended").hidden = app.phase !== "ended";
  if (!active) view.setTyping(null);
  if (app.phase === "ended") {
    const known = ENDED_REASONS.includes(app.endReason);
    view.setText("ended-reason", t(known ? `widget.ended.${app.endReason}` : "widget.ended.title"));
    const next = app.endReason === "duty_ended" ? view.openingText(app.endNextOpening, localeFor(app.lang)) : "";
    view.setText("ended-next", next);
    $("ended-next").hidden = !next;
  }
  renderRating();
  renderLog();
}

// ---------------------------------------------------------------- availability

// A shift covers now but nobody is checked in and answering (GET /api/status → availability).
function unstaffedNow() {
  return Boolean(app.status && app.status.availability === "unstaffed");
}

function expectedText(iso) {
  const when = view.formatOpening(iso, localeFor(app.lang));
  return when ? t("widget.unstaffed.expected", { when }) : t("widget.unstaffed.expected_none");
}

// ---------------------------------------------------------------- language desks

function langName(code) {
  return view.languageName(code, localeFor(app.lang), LANGUAGE_NAMES[code]);
}

// "Thai-speaking chat: Wed 12–16", and on the intro whether a speaker is on duty now.
function renderDeskHours(phase) {
  const desk = app.status && app.status.desks && app.status.desks[app.lang];
  const line = $(`${phase}-desk`);
  const away = $("intro-desk-away");
  if (phase === "intro") away.hidden = true;
  if (!desk) {
    line.hidden = true;
    return;
  }
  const hours = view.deskHoursText(desk.opening_hours, localeFor(app.lang));
  const language = langName(app.lang);
  view.setText(line.id, hours ? t("widget.desk.hours", { language, hours }) : t("widget.desk.hours_none", { language }));
  line.hidden = false;
  // Only when someone is answering another language: with nobody on duty it is not about language.
  const someoneOn = Object.values(app.status.desks).some((d) => d && d.answered);
  if (phase === "intro" && !desk.answered && someoneOn) {
    view.setText("intro-desk-away", t("widget.desk.away", { language }));
    away.hidden = false;
  }
}

// Waiting while nobody on duty speaks the chat's language: say so, and offer the languages answered now.
function renderDesk(waiting) {
  const box = $("desk");
  const desk = waiting && app.chat ? app.chat.desk : null;
  box.hidden = !desk;
  if (!desk) return $("desk-choices").replaceChildren();
  const language = langName(app.chat.language || app.lang);
  const alternatives = Array.isArray(desk.alternatives) ? desk.alternatives : [];
  let text;
  if (desk.policy === "unstaffed") {
    text = desk.speaker_from ? `${t("widget.desk.unstaffed")} ${expectedText(desk.speaker_from)}` : t("widget.desk.unstaffed");
  } else if (desk.policy === "wait" && desk.speaker_from) {
    const time = clockFormat(localeFor(app.lang)).format(
      new Date(desk.speaker_from),
    );
    text = t("widget.desk.wait", { language, time });
  } else if (desk.policy === "anyone") {
    text = t("widget.desk.anyone", { language });
  } else {
    text = t(alternatives.length ? "widget.desk.offer" : "widget.desk.offer_none", { language });
  }
  view.setText("desk-text", text);
  const buttons = alternatives.map((code) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-secondary";
    button.dataset.language = code;
    button.textContent = t("widget.desk.continue_in", { language: langName(code) });
    button.addEventListener("click", () => continueIn(code));
    return button;
  });
  $("desk-choices").replaceChildren(...buttons);
}

async function continueIn(code) {
  if (!app.socket || !app.chat || app.chat.state !== "waiting") return;
  for (const button of $("desk-choices").querySelectorAll("button")) button.disabled = true;
  const ack = await call(app.socket, "chat:language", { language: code });
  if (ack.ok) {
    applyChatState(ack.chat);
    focusIfLost("chat-status");
  } else {
    for (const button of $("desk-choices").querySelectorAll("button")) button.disabled = false;
  }
}

function renderLog() {
  view.renderLog(app.thread, app.notes, { lang: localeFor(app.lang), staffName: staffName() });
  $("log").hidden = app.thread.messages.size === 0 && app.thread.outbox.length === 0 && app.notes.length === 0;
}

function setPhase(phase) {
  app.phase = phase;
  render();
}

function showError(key) {
  app.errorKey = key;
  setPhase("error");
  $("error-text").focus();
}

// Move focus only when the control that had it just disappeared, so keyboard
// and screen reader users are never left on <body>.
function focusIfLost(id, alsoFrom = []) {
  const active = document.activeElement;
  if (!active || active === document.body || active.closest("[hidden]") || alsoFrom.includes(active.id)) $(id).focus();
}

// ---------------------------------------------------------------- status

let reopenTimer = null;

async function fetchStatus() {
  try {
    const response = await fetch("/api/status", { credentials: "omit", cache: "no-store" });
    if (!response.ok) return null;
    app.status = await response.json();
  } catch {
    return null;
  }
  // When the chat is closed, look again shortly after it is due to open so a
  // visitor who keeps the page open sees the start button without reloading.
  clearTimeout(reopenTimer);
  const next = app.status.next_opening ? Date.parse(app.status.next_opening) : NaN;
  setLinkAllowlist(app.status.link_allowlist);
  if (unstaffedNow()) {
    // Nobody answers yet: look again now and then, so the visitor sees when someone does.
    reopenTimer = setTimeout(refreshStatus, UNSTAFFED_REFRESH_MS);
  } else if (!app.status.open && Number.isFinite(next)) {
    const delay = next - Date.now() + 2000;
    if (delay > 0 && delay < 2 ** 31 - 1) reopenTimer = setTimeout(refreshStatus, delay);
  }
  return app.status;
}

function showStatus() {
  // Unstaffed: the visitor may still wait when the organisation allows it (unstaffed_queue).
  const canStart = app.status.open || (unstaffedNow() && app.status.unstaffed_queue !== false);
  setPhase(canStart ? "intro" : "closed");
}

async function refreshStatus() {
  if (app.phase === "chat" || app.phase === "starting") return;
  const status = await fetchStatus();
  if (app.phase === "chat" || app.phase === "starting") return;
  if (!status) return showError("widget.error.unreachable");
  if (app.phase !== "ended") showStatus();
}

// ---------------------------------------------------------------- socket

function getSocket() {
  if (app.socket) return app.socket;
  // WebSocket first (no sticky sessions needed behind a load balancer),
  // falling back to long-polling where a proxy blocks WebSockets.
  const socket = io("/visitor", {
    autoConnect: false,
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    reconnectionDelayMax: 10000,
  });
  socket.on("connect", onConnect);
  socket.on("disconnect", onDisconnect);
  socket.on("connect_error", onConnectError);
  socket.on("chat:state", (chat) => applyChatState(chat));
  socket.on("queue:position", onQueuePosition);
  socket.on("message:new", onMessage);
  socket.on("typing", onStaffTyping);
  socket.on("chat:ended", (event) => {
    if (event && app.chat && event.chat_id === app.chat.chat_id) {
      endChat(event.reason, event.next_opening, event.feedback_ticket);
    }
  });
  app.socket = socket;
  return socket;
}

// Resolves to the connected socket, or null if that failed in time.
function connect(timeoutMs = 15000) {
  const socket = getSocket();
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve) => {
    const finish = (ok) => {
      clearTimeout(timer);
      socket.off("connect", onOk);
      socket.off("connect_error", onFail);
      if (!ok) socket.disconnect();
      resolve(ok ? socket : null);
    };
    const onOk = () => finish(true);
    const onFail = (err) => {
      if (err && err.data && err.data.code) finish(false); // refused by the server: no point waiting
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("connect", onOk);
    socket.on("connect_error", onFail);
    socket.connect();
  });
}

function onConnect() {
  if (app.token && app.phase === "chat") resume();
}

function onDisconnect(reason) {
  if (app.sender) app.sender.stop();
  typing.reset();
  view.setTyping(null); // nobody's "is typing…" can be trusted while we are cut off
  if (reason === "io client disconnect") return;
  if (app.phase === "chat" && app.token) {
    app.lostConnection = true;
    view.showBanner(t("widget.reconnecting"));
  }
  // socket.io does not reconnect by itself after a server-side disconnect.
  if (reason === "io server disconnect") setTimeout(() => app.token && app.socket.connect(), 2000);
}

function onConnectError(err) {
  if (!app.token || app.phase !== "chat") return;
  // Kept for servers that refuse the namespace with a code; a refused Origin
  // is a transport error (HTTP 400) that socket.io keeps retrying.
  if (err && ((err.data && err.data.code) || err.message) === "origin_not_allowed") {
    app.socket.disconnect();
    return showError("widget.error.origin");
  }
  // A refusal by the server is not retried by socket.io; transport errors are.
  if (!app.socket.active) setTimeout(() => app.token && app.socket.connect(), 5000);
}

// ---------------------------------------------------------------- chat flow

// invitation: a peer group invitation's token (group:invite), so the chat counts as from the group.
async function startChat(invitation) {
  if (app.phase === "starting" || app.phase === "chat") return;
  newThread();
  app.chat = null;
  setPhase("starting");
  $("chat-status").focus();
  const socket = await connect();
  if (!socket) return showError("widget.error.unreachable");
  const start = { language: app.lang };
  if (typeof invitation === "string" && invitation) start.invitation = invitation;
  const ack = await call(socket, "chat:start", start);
  if (!ack.ok) {
    // chat_already_started after a lost ack: this socket holds a chat we have
    // no token for. A fresh connection gives a fresh socket; the orphan chat
    // expires on the server after its grace period.
    if (errorCode(ack) === "chat_already_started") socket.disconnect();
    // queue_full, too_many_chats and rate_limited: honest "the line is full" (docs/protocol.md 2.3).
    const key = {
      timeout: "widget.error.unreachable",
      visitor_blocked: "widget.error.visitor_blocked",
      queue_full: "widget.error.queue_full",
      too_many_chats: "widget.error.queue_full",
      rate_limited: "widget.error.queue_full",
    }[errorCode(ack)];
    return showError(key || "widget.error.generic");
  }
  if (ack.chat.state === "unstaffed") {
    app.status = { ...(app.status || {}), open: false, availability: "unstaffed", unstaffed_queue: false,
      expected_at: ack.chat.next_opening };
    socket.disconnect();
    setPhase("closed");
    $("closed-title").focus();
    return;
  }
  if (ack.chat.state === "closed") {
    app.status = { ...(app.status || {}), open: false, availability: "closed", next_opening: ack.chat.next_opening };
    socket.disconnect();
    setPhase("closed");
    $("closed-title").focus();
    return;
  }
  app.token = ack.resume_token;
  app.phase = "chat";
  applyChatState(ack.chat);
  persist();
}

function restoreChat(saved) {
  app.token = saved.resume_token;
  app.chat = { chat_id: saved.chat_id, state: "waiting" };
  newThread();
  app.lostConnection = true;
  setPhase("chat");
  view.showBanner(t("widget.reconnecting"));
  getSocket().connect();
}

async function resume() {
  if (app.resuming) return;
  app.resuming = true;
  try {
    for (let attempt = 0; app.token && app.phase === "chat"; attempt += 1) {
      const ack = await call(app.socket, "chat:resume", { resume_token: app.token, last_seq: app.thread.lastSeq });
      const code = ack.ok ? null : errorCode(ack);
      if (ack.ok || code === "chat_already_started") {
        // chat_already_started: this very socket already holds the chat.
        if (ack.ok) {
          app.thread.addAll(ack.messages);
          updateUnread();
          applyChatState(ack.chat);
        } else if (app.chat && (app.chat.state === "active" || app.chat.state === "waiting")) {
          app.sender.start();
        }
        connectionRestored();
        fetchMissing();
        return;
      }
      if (code === "resume_failed") return endChat("resume_failed", null);
      if (code === "visitor_blocked") return endChat("blocked", null);
      if (code === "disconnected") return; // the next "connect" resumes
      await sleep(Math.min(1000 * 2 ** attempt, 15000));
    }
  } finally {
    app.resuming = false;
  }
}

function connectionRestored() {
  if (!app.lostConnection) return;
  app.lostConnection = false;
  view.showBanner(t("widget.reconnected"));
  setTimeout(() => {
    if (!app.lostConnection) view.hideBanner();
  }, 3000);
}

function applyChatState(chat) {
  if (!chat || (app.chat && chat.chat_id && chat.chat_id !== app.chat.chat_id)) return;
  if (app.phase !== "chat") return;
  const previous = app.chat ? app.chat.state : null;
  const previousAlias = staffName();
  // `desk` and `colleague` are present only while they apply: a state without them clears them.
  app.chat = { ...(app.chat || {}), desk: null, colleague: null, ...chat };
  if (chat.state === "ended") return endChat(chat.reason, chat.next_opening, chat.feedback_ticket);

  if (chat.state === "active") {
    if (previous !== "active" || previousAlias !== chat.staff_alias) {
      addNote("widget.active.joined", { alias: chat.staff_alias || t("widget.staff_default") });
    }
  } else if (chat.reason === "staff_disconnected" && previous === "active") {
    addNote("widget.waiting.requeued");
  }
  // A colleague brought into the chat (docs/protocol.md §3.2): a line in the conversation, and
  // the notice above it while they are in (a listener in training is never a hidden reader).
  if (chat.reason === "colleague_joined" && chat.colleague) {
    const listener = chat.colleague.as === "listener";
    addNote(listener ? "widget.colleague.listener_joined" : "widget.active.joined", { alias: chat.colleague.alias });
  } else if (chat.reason === "colleague_left" && chat.left) {
    addNote("widget.colleague.left", { alias: chat.left.alias });
  }
  app.sender.start();
  persist();
  renderChat();
  // From "Connecting…"/the queue (where the focus was put) straight to typing,
  // once renderChat has shown the composer.
  if (chat.state === "active" && previous !== "active") focusIfLost("message", ["chat-status"]);
  if (app.chat.last_seq > app.thread.lastSeq) fetchMissing();
}

function onQueuePosition(update) {
  if (!update || !app.chat || update.chat_id !== app.chat.chat_id || app.phase !== "chat") return;
  app.chat.position = update.position;
  app.chat.estimate_seconds = update.estimate_seconds;
  persist();
  renderChat();
}

function onMessage(message) {
  if (!message || !app.chat || message.chat_id !== app.chat.chat_id || app.phase !== "chat") return;
  // Remember who wrote it: after a requeue another staff member may answer.
  // With a colleague in the chat, the server names who wrote (`alias`).
  if (message.sender === "staff") message.alias = message.alias || staffName();
  if (!app.thread.add(message)) return;
  if (message.sender === "staff") view.setTyping(null);
  updateUnread();
  persist();
  renderLog();
  if (app.thread.hasGap()) fetchMissing();
}

// A broadcast lost between workers leaves no gap until the next message:
// ask for anything newer now and then (see docs/protocol.md, delivery).
const BACKSTOP_FETCH_MS = 15000;
setInterval(() => {
  if (app.socket && app.socket.connected && app.chat && app.chat.state === "active") fetchMissing(true);
}, BACKSTOP_FETCH_MS);

async function fetchMissing(always = false) {
  if (app.fetching || app.phase !== "chat") return;
  if (!always && !app.thread.hasGap() && !(app.chat && app.chat.last_seq > app.thread.lastSeq)) return;
  app.fetching = true;
  try {
    // One page an answer: ask again while the server says `more` (docs/protocol.md 3.1, messages:fetch).
    for (let more = true, pages = 0; more && pages < 50 && app.phase === "chat"; pages += 1) {
      const ack = await call(app.socket, "messages:fetch", { after_seq: app.thread.lastSeq });
      more = Boolean(ack.ok && ack.more && ack.messages.length);
      if (ack.ok && app.thread.addAll(ack.messages)) {
        updateUnread();
        persist();
        renderLog();
      }
    }
  } finally {
    app.fetching = false;
  }
}

let staffTypingTimer = null;

function onStaffTyping(event) {
  if (!event || !app.chat || event.chat_id !== app.chat.chat_id || app.chat.state !== "active") return;
  clearTimeout(staffTypingTimer);
  if (event.typing) {
    view.setTyping(t("widget.typing", { alias: staffName() || t("widget.staff_default") }));
    // A lost "stopped typing" must not leave the indicator up for ever.
    staffTypingTimer = setTimeout(() => view.setTyping(null), STAFF_TYPING_TIMEOUT_MS);
  } else {
    view.setTyping(null);
  }
}

function endChat(reason, nextOpening, feedbackTicket) {
  if (app.phase !== "chat" && app.phase !== "starting") return;
  app.phase = "ended";
  app.token = null;
  app.endReason = reason;
  app.endNextOpening = nextOpening || null;
  const ticket = typeof feedbackTicket === "string" && feedbackTicket ? feedbackTicket : null;
  app.feedbackTicket = ticket;
  app.rating = ticket ? "asking" : "hidden";
  app.lostConnection = false;
  if (app.sender) app.sender.stop();
  store.clearChat();
  // Minimised, the end is news too: the replies not yet read and the end notice stay on the badge.
  if (!app.visible) {
    updateUnread();
    app.unread += 1;
  }
  tellHost({ type: "dutychat:unread", count: app.visible ? 0 : app.unread });
  view.hideBanner();
  // Nothing is left to say on this socket; a new chat connects again. For
  // resumed_elsewhere this also stops the two tabs taking the chat from each other.
  if (app.socket) app.socket.disconnect();
  renderChat();
  $("ended-reason").focus();
}

// "Leave chat" asks first; quick exit never does.
function askToLeave() {
  const dialog = $("leave-confirm");
  if (dialog.open) return;
  dialog.showModal();
  $("leave-no").focus();
}

function answerLeave(leave) {
  const dialog = $("leave-confirm");
  if (dialog.open) dialog.close();
  if (leave && (app.phase === "chat" || app.phase === "starting")) leaveChat();
  else if (!$("leave").hidden) $("leave").focus();
}

async function leaveChat() {
  stopTyping();
  const ack = await call(app.socket, "chat:end", {});
  // Whatever the answer (also no_active_chat or a lost connection), the
  // visitor wants out; the server ends an orphaned chat after its grace period.
  // Usually chat:ended (with the rating ticket) has arrived before this ack.
  endChat("visitor_left", null, ack.ok ? ack.feedback_ticket : null);
}

function newChat() {
  app.phase = "intro";
  app.feedbackTicket = null;
  app.rating = "hidden";
  startChat();
}

// ---------------------------------------------------------------- rating
//
// Optional and anonymous: the ticket from chat:ended is all the server gets,
// and it counts the rating without linking it to the chat (protocol §6).

function renderRating() {
  const form = $("rating");
  const showForm = app.phase === "ended" && (app.rating === "asking" || app.rating === "sending");
  form.hidden = !showForm;
  $("rating-submit").disabled = app.rating === "sending";
  $("rating-thanks").hidden = !(app.phase === "ended" && app.rating === "thanks");
  if (!showForm) showRatingError(null);
}

function showRatingError(text) {
  view.setText("rating-error", text || "");
  $("rating-error").hidden = !text;
}

async function sendRating(event) {
  event.preventDefault();
  if (app.rating !== "asking" || !app.feedbackTicket) return;
  const chosen = $("rating").querySelector("input[name=rating]:checked");
  if (!chosen) {
    showRatingError(t("widget.rating.choose"));
    $("rating").querySelector("input[name=rating]").focus();
    return;
  }
  app.rating = "sending";
  renderRating();
  let ok;
  try {
    const response = await fetch("/api/feedback", {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ticket: app.feedbackTicket, rating: Number(chosen.value) }),
    });
    ok = response.ok;
  } catch {
    ok = false;
  }
  if (app.phase !== "ended") return;
  if (ok) {
    app.feedbackTicket = null;
    app.rating = "thanks";
    renderRating();
    $("rating-thanks").focus();
  } else {
    app.rating = "asking";
    renderRating();
    showRatingError(t("widget.rating.error"));
  }
}

function skipRating() {
  app.feedbackTicket = null;
  app.rating = "hidden";
  renderRating();
  $("new-chat").focus();
}

function leaveQuickly() {
  if ($("leave-confirm").open) $("leave-confirm").close();
  quickExit(neutralUrl(app.status), app.socket);
}

// ---------------------------------------------------------------- composer

const typing = new TypingNotifier((value) => {
  if (app.chat && app.chat.state === "active") call(app.socket, "typing:set", { typing: value });
});

function onComposerInput() {
  view.showComposerError(null);
  typing.input($("message").value.trim() !== "");
}

function stopTyping() {
  typing.stop();
}

function sendMessage(event) {
  event.preventDefault();
  const box = $("message");
  const text = box.value.trim();
  if (!text) return;
  if (text.length > maxLength()) return view.showComposerError(t("widget.error.message_too_long"));
  app.thread.enqueue(text, "v");
  box.value = "";
  stopTyping();
  persist();
  renderLog();
  $("log").scrollTop = $("log").scrollHeight;
  app.sender.pump();
}

// A message the server refused for a reason other than its text: the visitor
// may send it again (same client_id, so it is never doubled).
function retryMessage(clientId) {
  const item = app.thread.outbox.find((i) => i.client_id === clientId && i.status === "failed");
  if (!item || !app.chat || (app.chat.state !== "active" && app.chat.state !== "waiting")) return;
  item.status = "sending";
  delete item.error;
  persist();
  renderLog();
  $("message").focus();
  app.sender.pump();
}

function onComposerKey(event) {
  // Enter sends, Shift+Enter is a newline; never interrupt an IME composition.
  // On touch devices Enter is a newline and the Send button sends.
  if (touch) return;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
}

// ---------------------------------------------------------------- language

async function switchLanguage(lang) {
  if (!app.offered.includes(lang)) return;
  const before = app.lang;
  try {
    app.lang = await loadLanguage(lang);
  } catch {
    return;
  }
  store.saveLanguage(app.lang);
  if (app.token) persist();
  applyTexts();
  render();
  // Mid-chat the staff member is told (chat:language).
  const live = app.phase === "chat" && app.chat && (app.chat.state === "waiting" || app.chat.state === "active");
  if (live && app.lang !== before && app.socket && app.socket.connected) {
    const ack = await call(app.socket, "chat:language", { language: app.lang });
    if (ack.ok) applyChatState(ack.chat);
  }
}

function applyTexts() {
  translateDom();
  if (touch) {
    $("composer-hint").textContent = t("widget.composer_hint_touch");
    $("quick-exit-hint").textContent = t("widget.quick_exit_hint_touch");
  }
  $("lang-select").value = app.lang;
  view.buildLanguageOffer(app.offered, app.lang, LANGUAGE_NAMES, chooseLanguage);
}

function chooseLanguage(code) {
  switchLanguage(code).then(() => {
    const first = $("lang-offer-list").querySelector("button");
    if (first && document.activeElement === document.body) first.focus();
  });
}

function offeredLanguages() {
  const server = app.status && Array.isArray(app.status.languages) ? app.status.languages : CATALOGUES;
  const both = CATALOGUES.filter((code) => server.includes(code));
  return both.length ? both : [FALLBACK];
}

// ---------------------------------------------------------------- boot

function wireControls() {
  installQuickExit($("quick-exit"), leaveQuickly);
  $("start").addEventListener("click", startChat);
  $("new-chat").addEventListener("click", newChat);
  $("leave").addEventListener("click", askToLeave);
  $("leave-yes").addEventListener("click", () => answerLeave(true));
  $("leave-no").addEventListener("click", () => answerLeave(false));
  $("leave-quick-exit").addEventListener("click", leaveQuickly);
  $("leave-confirm").addEventListener("cancel", () => setTimeout(() => answerLeave(false)));
  $("refresh").addEventListener("click", refreshStatus);
  $("rating").addEventListener("submit", sendRating);
  $("rating-skip").addEventListener("click", skipRating);
  $("retry").addEventListener("click", () => (app.token ? location.reload() : refreshStatus()));
  $("composer").addEventListener("submit", sendMessage);
  view.setRetryHandler(retryMessage);
  $("message").addEventListener("input", onComposerInput);
  $("message").addEventListener("keydown", onComposerKey);
  $("lang-select").addEventListener("change", (event) => switchLanguage(event.target.value));
  if (embedded) {
    $("minimise").hidden = false;
    // Minimising only hides the panel; the chat carries on.
    $("minimise").addEventListener("click", () => tellHost({ type: "dutychat:close" }));
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent || !event.data) return;
      if (event.data.type === "dutychat:visibility") setVisible(Boolean(event.data.open));
    });
  }
}

async function boot() {
  applyColour(params.get("colour"));
  wireControls();
  loadSafety();
  const saved = store.loadChat();
  if (background && !saved) {
    // Nothing to resume: sleep until opened.
    await new Promise((resolve) => {
      window.addEventListener("message", function wake(event) {
        if (event.source !== window.parent || !event.data || event.data.type !== "dutychat:visibility") return;
        if (!event.data.open) return;
        window.removeEventListener("message", wake);
        resolve();
      });
    });
    app.visible = true;
  }
  if (saved && Number.isInteger(saved.last_seq)) app.seenSeq = saved.last_seq;
  // This tab's choice, then the browser's languages, then the host's (unless data-lang-forced).
  const host = params.get("lang");
  const browser = navigator.languages || [navigator.language];
  app.wantedLanguages = [
    store.loadLanguage(),
    saved && saved.language,
    ...(params.get("lang_forced") === "1" ? [host, ...browser] : [...browser, host]),
  ];
  const guess = pickLanguage(app.wantedLanguages, CATALOGUES);
  const [status] = await Promise.all([fetchStatus(), loadLanguage(guess).catch(() => loadLanguage(FALLBACK))]);

  app.offered = offeredLanguages();
  app.lang = pickLanguage(app.wantedLanguages, app.offered);
  if (app.lang !== guess) await loadLanguage(app.lang);
  view.buildLanguageSelect($("lang-select"), app.offered, app.lang, LANGUAGE_NAMES);
  applyTexts();
  $("message").maxLength = maxLength();

  if (saved) return restoreChat(saved);
  if (!status) return showError("widget.error.unreachable");
  showStatus();
}

boot().catch(() => showError("widget.error.generic"));
