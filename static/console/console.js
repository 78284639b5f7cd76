// Staff console: sign in over HTTP, then live work over the /staff socket
// (docs/protocol.md §4). After every (re)connect staff:sync is the source of
// truth; server events keep the picture current in between.

import { io } from "/static/vendor/socket.io.esm.min.js";
import { CATALOGUES, language, loadLanguage, localeFor, pickLanguage, t, translateDom } from "../i18n/i18n.js";
import { call, errorCode, sleep } from "../shared/rpc.js";
import { $, el, formatTime } from "../shared/dom.js";
import { mountNav } from "../shared/nav.js";
import * as http from "../shared/api.js";
import { continueSignIn, errorMessage, hideSteps } from "../shared/signin.js";
import { setLinkAllowlist } from "../shared/thread.js";
import { ChatTab, durationText, languageName, setOwnLanguages } from "./chats.js";
import { closeIfFor, installEndDialog, isOpen as endDialogOpen, openEndDialog, setTaxonomy } from "./topics.js";
import { closeCanned, installCanned, openPicker, setOfferedLanguages } from "./canned.js";
import { closeHandoffFor, installHandoff, openBlock, openTransfer, setRoster } from "./handoff.js";
import {
  atCheckIn,
  installAlerts,
  loadAlertPrefs,
  newChatAlert,
  newMessageAlert,
  reconnectedAlert,
  showUnread,
  unstaffedAlert,
} from "./alerts.js";
import { refreshShifts, setShiftsZone } from "./shifts.js";
import { ColleagueThread } from "./colleagues.js";
import { flagLabel, installFlags, openFlag, showFlagged } from "./flags.js";
import { alarmAnswered, installHelpNow, showAlarm, syncAlarms } from "./help-now.js";
import { installGroupDesk, teardownGroupDesk } from "./groups.js";
import { debriefDone, debriefRequested, loadDebriefs } from "./debriefs.js";

const DEFAULT_MAX_LENGTH = 2000;

const BACKSTOP_FETCH_MS = 15000;
const SHIFTS_REFRESH_MS = 10 * 60 * 1000;

const desk = {
  socket: null,
  staff: null,
  duty: null,
  queue: [],
  roster: [], // RosterEntry[]: who is on duty, for transfers
  onCall: [], // OnCallEntry[]: the manager on call now
  tabs: new Map(), // chat_id -> ChatTab
  selected: null, // ChatTab
  maxLength: DEFAULT_MAX_LENGTH,
  timezone: undefined, // the organisation's (GET /api/status); until known, the device's
  connectedOnce: false,
  syncing: false,
  unopened: new Set(), // chat ids assigned and not yet opened (the new-chat tone repeats)
  unstaffed: new Map(), // chat_id -> duty:alert: a visitor waits while nobody answers
  asked: new Map(), // chat_id -> ColleagueThread: threads of colleagues' chats this member was asked into
};

// The interface ChatTab uses to reach the rest of the console.
const deskApi = {
  socket: () => desk.socket,
  maxLength: () => desk.maxLength,
  // Clock times: the organisation's zone (GET /api/status timezone), the page language's clock.
  clock: (iso) => formatTime(iso, localeFor(language()), desk.timezone),
  selfId: () => (desk.staff ? desk.staff.id : null),
  roster: () => desk.roster,
  onCall: () => desk.onCall,
  select: (tab, focus) => selectTab(tab, focus),
  requestEnd: (tab, unsolicited) => requestEnd(tab, unsolicited),
  requestTransfer: (tab) => requestTransfer(tab),
  requestInvite: (tab) => requestInvite(tab),
  requestLeave: (tab) => requestLeave(tab),
  requestBlock: (tab) => requestBlock(tab),
  requestFlag: (tab) => requestFlag(tab),
  requestDebrief: async (tab) => {
    const ack = await call(desk.socket, "debrief:request", { chat_id: tab.id });
    if (ack.ok) {
      tab.debriefRequested();
      announce(t("console.debrief.asked"));
    } else {
      announce(t("console.debrief.error", { code: errorCode(ack) }));
    }
  },
  openCanned: (tab) => openPicker({ language: tab.chat.language, insert: (text) => tab.insertText(text) }),
  announce: (text) => announce(text),
  unreadChanged: () => updateTitle(),
};

// ------------------------------------------------------------ announcements

// One polite live region for the whole console. Each announcement is a new
// child element, so that several in quick succession (a new chat, then the
// check-in result) are all read instead of replacing one another; old ones
// are pruned once they have surely been spoken.
function announce(text) {
  const region = $("announcer");
  const line = el("p", { text });
  region.append(line);
  setTimeout(() => line.remove(), 15000);
}

function unreadCount() {
  let unread = 0;
  for (const tab of desk.tabs.values()) unread += tab.unread;
  return unread;
}

function inView(tab) {
  return desk.selected === tab && document.visibilityState === "visible";
}

function updateTitle() {
  // A chat in view counts as opened.
  for (const id of [...desk.unopened]) {
    const tab = desk.tabs.get(id);
    if (!tab || inView(tab)) desk.unopened.delete(id);
  }
  showUnread(unreadCount(), t("console.title"));
}

let bannerTimer = null;

function banner(text, { autoHide = false, error = false } = {}) {
  const node = $("conn-banner");
  clearTimeout(bannerTimer);
  node.textContent = text || "";
  node.hidden = !text;
  node.classList.toggle("banner-error", error);
  if (autoHide) bannerTimer = setTimeout(() => (node.hidden = true), 4000);
}

// ------------------------------------------------------------ sign in / out

// The sign-in's further steps (second factor, own password, enrolment), then the desk.
function signInSteps(reply, password) {
  if (reply.state === "signed_in") return enterDesk(reply.staff);
  $("login-form").hidden = true;
  return continueSignIn(reply, password, (staff) => {
    $("login-form").hidden = false;
    enterDesk(staff);
  });
}

// `message` is an error (red, an alert); `notice` is plain news such as "You have signed out."
function showLogin(message, notice) {
  hideSteps();
  $("login-form").hidden = false;
  $("desk-view").hidden = true;
  $("logout").hidden = true;
  $("help-now").hidden = true;
  $("whoami").textContent = "";
  $("login-view").hidden = false;
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("login-notice").textContent = notice || "";
  $("login-notice").hidden = !notice;
  $("username").focus();
}

async function onLogin(event) {
  event.preventDefault();
  const button = $("login-submit");
  button.disabled = true;
  try {
    const password = $("password").value;
    const result = await http.login($("username").value.trim(), password);
    $("password").value = "";
    if (result.ok) return signInSteps(result.data, password);
    const code = result.error.code;
    if (code === "too_many_attempts") return showLogin(errorMessage(result));
    const key =
      code === "invalid_credentials"
        ? "console.login.error_credentials"
        : code === "origin_not_allowed"
          ? "console.login.error_origin"
          : code === "network"
            ? "console.login.error_network"
            : "console.login.error_other";
    showLogin(t(key, { origin: location.origin }));
  } finally {
    button.disabled = false;
  }
}

async function onLogout() {
  await http.logout();
  teardown();
  showLogin(null, t("console.login.signed_out"));
}

function teardown() {
  teardownGroupDesk();
  if (desk.socket) {
    desk.socket.off();
    desk.socket.disconnect();
    desk.socket = null;
  }
  for (const tab of desk.tabs.values()) tab.destroy();
  desk.tabs.clear();
  desk.selected = null;
  desk.duty = null;
  desk.queue = [];
  desk.connectedOnce = false;
  if (endDialogOpen()) $("end-dialog").close();
  for (const id of ["transfer-dialog", "block-dialog"]) if ($(id).open) $(id).close();
  closeCanned();
  desk.roster = [];
  desk.onCall = [];
  setRoster([]);
  for (const chatId of [...desk.asked.keys()]) dropAsked(chatId);
  try {
    sessionStorage.removeItem(ASKED_KEY);
  } catch {
    // nothing was kept
  }
  syncAlarms([]);
  for (const id of ["flag-dialog"]) if ($(id).open) $(id).close();
  $("flag-alerts-list").replaceChildren();
  $("flag-alerts").hidden = true;
  desk.unopened.clear();
  desk.unstaffed.clear();
  renderUnstaffed();
  $("reconnected").hidden = true;
  banner(null);
  renderChatsEmpty();
  updateTitle();
}

// The session expired or was revoked while we were signed in.
function sessionEnded() {
  teardown();
  showLogin(t("console.login.session_ended"));
}

async function enterDesk(staff) {
  desk.staff = staff;
  $("login-view").hidden = true;
  $("desk-view").hidden = false;
  $("logout").hidden = false;
  // A peer leader takes no one-to-one chats: their console is the peer group part only.
  $("help-now").hidden = staff.role === "peer";
  $("whoami").textContent = t("console.signed_in_as", { alias: staff.alias, name: staff.display_name || staff.username });
  $("canned-manage-open").hidden = !["manager", "admin"].includes(staff.role);
  mountNav($("site-nav"), staff.role, "/console/");
  renderDuty();
  renderQueue();
  renderChatsEmpty();

  const [status, topics] = await Promise.all([http.status(), http.topics("en")]);
  if (status.ok && Number.isInteger(status.data.max_message_length)) desk.maxLength = status.data.max_message_length;
  if (status.ok && Array.isArray(status.data.languages)) setOfferedLanguages(status.data.languages);
  if (status.ok) setLinkAllowlist(status.data.link_allowlist);
  if (status.ok && typeof status.data.timezone === "string") {
    desk.timezone = status.data.timezone;
    setShiftsZone(desk.timezone);
    renderDuty();
  }
  setTaxonomy(topics.ok ? topics.data : null);
  loadAlertPrefs();
  connect();
  refreshShifts();
  installGroupDesk(staff);
}

// ------------------------------------------------------------ socket

function connect() {
  // forceNew: after a sign-out and a new sign-in the handshake must carry the
  // new session cookie, and old listeners must not linger on a cached socket.
  const socket = io("/staff", {
    forceNew: true,
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    reconnectionDelayMax: 10000,
  });
  desk.socket = socket;

  socket.on("connect", () => {
    if (desk.connectedOnce) banner(t("console.conn.back"), { autoHide: true });
    desk.connectedOnce = true;
    sync();
  });
  socket.on("disconnect", (reason) => {
    for (const tab of desk.tabs.values()) tab.pause();
    if (reason === "io client disconnect") return;
    banner(t("console.conn.lost"));
    // socket.io does not reconnect on its own after a server-side disconnect.
    if (reason === "io server disconnect") setTimeout(() => desk.socket === socket && socket.connect(), 2000);
  });
  socket.on("connect_error", (err) => {
    // A namespace refusal carries the code as message and in data (protocol
    // §2.1); a refused Origin is a plain transport error that socket.io retries.
    const code = (err && err.data && err.data.code) || (err && err.message);
    if (code === "unauthenticated") return sessionEnded();
    if (code === "origin_not_allowed") return banner(t("console.conn.origin"), { error: true });
    banner(t("console.conn.lost"));
    if (!socket.active) setTimeout(() => desk.socket === socket && socket.connect(), 5000);
  });

  socket.on("chat:assigned", (chat) => {
    if (!chat || !chat.chat_id) return;
    const isNew = !desk.tabs.has(chat.chat_id);
    const tab = upsertChat(chat);
    if (chat.transferred_by) tab.setTransferredBy(chat.transferred_by);
    // A chat once asked about (as a colleague) is now this member's own.
    dropAsked(chat.chat_id);
    if (isNew) {
      const from = chat.transferred_by && chat.transferred_by.alias;
      const inviter = chat.invited_by && chat.invited_by.alias;
      announce(
        inviter
          ? t("console.announce.invited_in", { alias: tab.alias(), from: inviter })
          : from
            ? t("console.announce.transferred_in", { alias: tab.alias(), from })
            : t("console.announce.new_chat", { alias: tab.alias() }),
      );
      desk.unopened.add(chat.chat_id);
      newChatAlert(tab.alias());
      // Take focus only when nothing else is going on, never from a composer.
      if (!desk.selected) selectTab(tab, !isTyping());
      updateTitle();
    }
  });
  socket.on("message:new", (message) => {
    const tab = message && desk.tabs.get(message.chat_id);
    if (!tab) return;
    const known = tab.thread.messages.has(message.seq);
    tab.receive(message);
    if (!known && message.sender === "visitor" && !inView(tab)) newMessageAlert(tab.alias());
  });
  socket.on("typing", (event) => {
    const tab = event && desk.tabs.get(event.chat_id);
    if (tab) tab.setVisitorTyping(Boolean(event.typing));
  });
  socket.on("chat:presence", (event) => {
    const tab = event && desk.tabs.get(event.chat_id);
    if (!tab) return;
    tab.setPresence(Boolean(event.visitor_connected));
    announce(
      t(event.visitor_connected ? "console.announce.visitor_back" : "console.announce.visitor_away", {
        alias: tab.alias(),
      }),
    );
  });
  socket.on("chat:language", (event) => {
    const tab = event && desk.tabs.get(event.chat_id);
    if (!tab || typeof event.language !== "string") return;
    tab.chat.language = event.language;
    tab.render();
    announce(t("console.announce.language", { alias: tab.alias(), language: languageName(event.language) }));
  });
  socket.on("chat:ended", (event) => {
    const tab = event && desk.tabs.get(event.chat_id);
    if (!tab) return;
    if (!event.needs_topics) {
      const key = tab.ending ? "console.announce.ended" : "console.announce.chat_closed";
      removeTab(tab, t(key, { alias: tab.alias() }));
      return;
    }
    // Focus and keys stay where the member is (a reply in another chat): the ended chat's
    // tab shows a "Tag topics" banner, and the dialog opens only when they ask for it.
    const typingHere = tab.panel.contains(document.activeElement);
    tab.markEnded(event.reason);
    announce(t("console.announce.needs_topics", { alias: tab.alias() }));
    // Its own composer goes away: keep focus in the tab, on the log (not on a button a key would press).
    if (typingHere) tab.log.focus();
  });
  // A colleague joined or left a chat (chat:invite, chat:leave; docs/protocol.md §4.2 chat:second).
  socket.on("chat:second", (event) => {
    const tab = event && event.second && desk.tabs.get(event.chat_id);
    if (!tab) return;
    const self = desk.staff ? desk.staff.id : null;
    if (event.change === "joined") {
      tab.chat.second = event.second;
      tab.render();
      if (event.second.staff_id !== self) {
        const key = event.second.as === "listener" ? "console.announce.listener_joined" : "console.announce.second_joined";
        announce(t(key, { alias: event.second.alias, visitor: tab.alias() }));
      }
      return;
    }
    if (event.second.staff_id === self) {
      // This member's part in a colleague's chat is over (they left, it ended or went back to the queue).
      removeTab(tab, t("console.announce.you_left", { alias: tab.alias() }));
      return;
    }
    tab.chat.second = null;
    tab.render();
    announce(t("console.announce.second_left", { alias: event.second.alias, visitor: tab.alias() }));
  });
  socket.on("chat:removed", (event) => {
    const tab = event && desk.tabs.get(event.chat_id);
    if (!tab) return;
    const key =
      event.reason === "blocked"
        ? "console.announce.blocked"
        : event.reason === "transferred"
          ? "console.announce.transferred_out"
          : tab.ending
            ? "console.announce.ended"
            : "console.announce.removed";
    removeTab(tab, t(key, { alias: tab.alias() }));
  });
  socket.on("duty:roster", (event) => {
    if (!event || !Array.isArray(event.roster)) return;
    desk.roster = event.roster;
    desk.onCall = Array.isArray(event.on_call) ? event.on_call : [];
    setRoster(desk.roster);
    for (const thread of allThreads()) thread.renderInvite();
    renderTeam();
  });
  socket.on("queue:update", (event) => {
    if (!event || !Array.isArray(event.queue)) return;
    desk.queue = event.queue;
    renderQueue();
    forgetAnswered();
  });
  socket.on("duty:state", (duty) => {
    desk.duty = duty;
    renderDuty();
    refreshShifts();
    if (duty && duty.reason === "reconnected") showReconnected();
    if (duty && duty.available && !duty.paused_since) {
      desk.unstaffed.clear();
      renderUnstaffed();
    }
  });
  socket.on("duty:alert", (event) => {
    if (!event || event.code !== "visitor_waiting_unstaffed" || !event.chat_id) return;
    if (desk.unstaffed.has(event.chat_id)) return;
    desk.unstaffed.set(event.chat_id, event);
    renderUnstaffed();
    unstaffedAlert(unstaffedText());
  });
  // The live chat store lost its contents: the chats here are gone; start over from the server.
  socket.on("staff:resync", () => sync());
  socket.on("thread:entry", (entry) => onThreadEntry(entry));
  socket.on("help:alarm", (alarm) => showAlarm(alarm));
  socket.on("help:answered", (event) => alarmAnswered(event));
  // Managers and admins only (the server sends these to them alone).
  socket.on("debrief:requested", (debrief) => debriefRequested(debrief, announce));
  socket.on("debrief:done", (debrief) => debriefDone(debrief));
  socket.on("chat:flagged", (alert) => {
    if (!alert || !alert.by) return;
    showFlagged(alert, deskApi.clock, announce);
    unstaffedAlert(t("console.flag.alert_short", { from: alert.by.alias, label: flagLabel(alert.category) }));
  });
  socket.on("thread:closed", (event) => {
    if (event && event.chat_id) dropAsked(event.chat_id, true);
  });
}

function isTyping() {
  const active = document.activeElement;
  return Boolean(active && active.tagName === "TEXTAREA" && active.value);
}

async function sync() {
  if (desk.syncing) return;
  desk.syncing = true;
  try {
    for (let attempt = 0; desk.socket && desk.socket.connected; attempt += 1) {
      const ack = await call(desk.socket, "staff:sync", {});
      if (ack.ok) return applySync(ack);
      if (errorCode(ack) === "disconnected") return; // the next connect syncs again
      await sleep(Math.min(1000 * 2 ** attempt, 15000));
    }
  } finally {
    desk.syncing = false;
  }
}

function applySync(ack) {
  desk.staff = { ...desk.staff, ...ack.staff };
  setOwnLanguages(desk.staff.languages);
  desk.duty = ack.duty;
  desk.queue = Array.isArray(ack.queue) ? ack.queue : [];
  desk.roster = Array.isArray(ack.roster) ? ack.roster : [];
  desk.onCall = Array.isArray(ack.on_call) ? ack.on_call : [];
  setRoster(desk.roster);
  renderTeam();
  syncAlarms(Array.isArray(ack.alarms) ? ack.alarms : []);
  loadDebriefs(["manager", "admin"].includes(desk.staff.role), deskApi.clock);
  restoreAsked();
  forgetAnswered();
  const chats = Array.isArray(ack.chats) ? ack.chats : [];
  const current = new Set(chats.map((chat) => chat.chat_id));
  // Chats we no longer hold were requeued or finished while we were away.
  for (const tab of [...desk.tabs.values()]) {
    if (!current.has(tab.id)) removeTab(tab, t("console.announce.removed", { alias: tab.alias() }));
  }
  for (const chat of chats) upsertChat(chat);
  // The staff threads of our chats, again after a reload or a lost connection.
  for (const tab of desk.tabs.values()) {
    if (tab.isActive()) tab.colleagues.fetch().then(() => tab.renderHandover());
  }
  if (!desk.selected && desk.tabs.size) selectTab(desk.tabs.values().next().value, false);
  renderDuty();
  renderQueue();
  // Alerts that went out before this console was here (or while it was away).
  const alerts = Array.isArray(ack.alerts) ? ack.alerts : [];
  const fresh = alerts.filter((event) => event && event.chat_id && !desk.unstaffed.has(event.chat_id));
  for (const event of fresh) desk.unstaffed.set(event.chat_id, event);
  if (fresh.length) {
    renderUnstaffed();
    unstaffedAlert(unstaffedText());
  }
}

// ------------------------------------------------------------ ask a colleague (staff threads)

function allThreads() {
  return [...[...desk.tabs.values()].map((tab) => tab.colleagues), ...desk.asked.values()];
}

function renderAsked() {
  $("asked-card").hidden = desk.asked.size === 0;
}

// The threads this member was asked into, kept in the tab (opaque chat ids only) so that a
// reload or a lost connection brings them back (thread:fetch); nothing else is stored.
const ASKED_KEY = "dutychat-console-asked";

function rememberAsked() {
  try {
    sessionStorage.setItem(ASKED_KEY, JSON.stringify([...desk.asked.keys()]));
  } catch {
    // storage refused (private mode): the threads come back with their next entry
  }
}

function rememberedAsked() {
  try {
    const ids = JSON.parse(sessionStorage.getItem(ASKED_KEY) || "[]");
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : [];
  } catch {
    return [];
  }
}

async function openAsked(chatId) {
  const thread = new ColleagueThread(chatId, deskApi, { own: false, title: t("console.colleague.asked_title") });
  desk.asked.set(chatId, thread);
  $("asked-list").append(thread.node);
  renderAsked();
  rememberAsked();
  const whole = await thread.fetch();
  if (!whole) {
    dropAsked(chatId);
    return null;
  }
  if (whole.owner) {
    thread.heading.textContent = t("console.colleague.asked_about", {
      from: whole.owner.alias,
      alias: whole.visitor_alias,
      language: languageName(whole.language),
    });
  }
  return thread;
}

// After staff:sync: the remembered threads again, or gone if their chat ended meanwhile.
function restoreAsked() {
  for (const chatId of rememberedAsked()) {
    if (!desk.asked.has(chatId) && !desk.tabs.has(chatId)) openAsked(chatId);
  }
  for (const thread of desk.asked.values()) thread.fetch().then((whole) => whole || dropAsked(thread.chatId));
}

function dropAsked(chatId, announceIt = false) {
  const thread = desk.asked.get(chatId);
  if (!thread) return;
  thread.node.remove();
  desk.asked.delete(chatId);
  rememberAsked();
  renderAsked();
  if (announceIt) announce(t("console.colleague.closed"));
}

async function onThreadEntry(entry) {
  if (!entry || !entry.chat_id || !entry.author) return;
  const self = desk.staff && desk.staff.id;
  const tab = desk.tabs.get(entry.chat_id);
  const fromOther = entry.author.staff_id !== self;
  if (tab) {
    if (tab.addThreadEntries([entry]) && fromOther) {
      announce(
        t(entry.kind === "handover" ? "console.colleague.announce_note" : "console.colleague.announce", {
          from: entry.author.alias,
          alias: tab.alias(),
        }),
      );
    }
    return;
  }
  const thread = desk.asked.get(entry.chat_id);
  if (thread) thread.add([entry]);
  else await openAsked(entry.chat_id);
  if (fromOther) announce(t("console.colleague.announce_asked", { from: entry.author.alias }));
}

// ------------------------------------------------------------ chat tabs

function upsertChat(chat) {
  let tab = desk.tabs.get(chat.chat_id);
  if (tab) {
    tab.update(chat);
  } else {
    tab = new ChatTab(chat, deskApi);
    desk.tabs.set(chat.chat_id, tab);
    $("tablist").append(tab.tab);
    $("panels").append(tab.panel);
  }
  renderChatsEmpty();
  renderQueue();
  updateTitle();
  return tab;
}

function removeTab(tab, message) {
  closeIfFor(tab.id);
  closeHandoffFor(tab.id);
  const wasSelected = desk.selected === tab;
  const hadFocus = tab.tab.contains(document.activeElement) || tab.panel.contains(document.activeElement);
  tab.destroy();
  desk.tabs.delete(tab.id);
  if (wasSelected) {
    desk.selected = null;
    const next = desk.tabs.values().next().value;
    if (next) selectTab(next, hadFocus);
  }
  if (message) announce(message);
  renderChatsEmpty();
  renderQueue();
  updateTitle();
}

function selectTab(tab, focus) {
  if (desk.selected && desk.selected !== tab) desk.selected.setSelected(false);
  desk.selected = tab;
  tab.setSelected(true);
  updateTitle();
  if (focus) tab.tab.focus();
}

// Arrow keys move between tabs (WAI-ARIA tabs pattern, automatic activation).
function onTablistKey(event) {
  const tabs = [...desk.tabs.values()];
  const index = tabs.indexOf(desk.selected);
  if (index < 0) return;
  let next = null;
  if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
  else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (!next) return;
  event.preventDefault();
  selectTab(next, true);
}

function renderChatsEmpty() {
  $("no-chats").hidden = desk.tabs.size > 0;
  // "Check in to receive chats" only while not checked in.
  $("no-chats").textContent = t(desk.duty && desk.duty.available ? "console.chats.empty_available" : "console.chats.empty");
  $("tablist").hidden = desk.tabs.size === 0;
}

function requestEnd(tab, unsolicited) {
  if (unsolicited && endDialogOpen()) return; // the tab stays marked; the button reopens it
  openEndDialog({
    chatId: tab.id,
    alias: tab.alias(),
    ended: tab.chat.state === "ended",
    unsolicited,
    noConversation: tab.visitorWroteNothing(),
    submit: async (topics) => {
      // The server may report the chat gone (chat:removed / chat:ended) before
      // our ack arrives; while this is set those events say "ended", not "taken away".
      tab.ending = true;
      const ack = await call(desk.socket, "chat:end", { chat_id: tab.id, topics });
      if (ack.ok) {
        if (desk.tabs.get(tab.id) === tab) removeTab(tab, t("console.announce.ended", { alias: tab.alias() }));
        return null;
      }
      tab.ending = false;
      const code = errorCode(ack);
      if (code === "chat_not_found") {
        if (desk.tabs.get(tab.id) === tab) removeTab(tab, t("console.announce.removed", { alias: tab.alias() }));
        return null;
      }
      if (code === "topics_required") return t("console.end.error_none");
      if (code === "unknown_topic") return t("console.end.error_unknown_topic");
      if (code === "disconnected" || code === "timeout") return t("console.end.error_connection");
      return t("console.end.error_other", { code });
    },
  });
}

function requestTransfer(tab) {
  if (!tab.isActive()) return;
  openTransfer({
    // The colleague already in the chat holds it: not a transfer target.
    exclude: tab.chat.second ? [tab.chat.second.staff_id] : [],
    chatId: tab.id,
    alias: tab.alias(),
    language: tab.chat.language,
    selfId: desk.staff && desk.staff.id,
    submit: async (toStaffId, note) => {
      const payload = { chat_id: tab.id, to_staff_id: toStaffId };
      if (note) payload.note = note;
      const ack = await call(desk.socket, "chat:transfer", payload);
      if (ack.ok) {
        if (desk.tabs.get(tab.id) === tab) {
          removeTab(tab, t("console.announce.transferred_out_to", { alias: tab.alias(), to: ack.alias || "" }));
        }
        return null;
      }
      const code = errorCode(ack);
      if (code === "chat_not_found" || code === "chat_not_active") return t("console.transfer.error_gone");
      if (code === "staff_not_on_duty") return t("console.transfer.error_not_on_duty");
      if (code === "staff_full") return t("console.transfer.error_full");
      if (code === "language_not_spoken") return t("console.transfer.error_language");
      if (code === "disconnected" || code === "timeout") return t("console.end.error_connection");
      return t("console.transfer.error_other", { code });
    },
  });
}

function requestInvite(tab) {
  if (!tab.isActive() || tab.chat.second) return;
  openTransfer({
    mode: "invite",
    chatId: tab.id,
    alias: tab.alias(),
    language: tab.chat.language,
    selfId: desk.staff && desk.staff.id,
    listeners: Boolean(desk.staff && desk.staff.training_listeners),
    submit: async (staffId, role) => {
      const ack = await call(desk.socket, "chat:invite", { chat_id: tab.id, staff_id: staffId, as: role });
      if (ack.ok) {
        tab.chat.second = ack.second;
        tab.render();
        const key = ack.second.as === "listener" ? "console.announce.listener_joined" : "console.announce.second_joined";
        announce(t(key, { alias: ack.second.alias, visitor: tab.alias() }));
        return null;
      }
      const code = errorCode(ack);
      if (code === "chat_not_found" || code === "chat_not_active") return t("console.invite.error_gone");
      if (code === "second_responder_present") return t("console.invite.error_present");
      if (code === "staff_not_on_duty") return t("console.transfer.error_not_on_duty");
      if (code === "staff_full") return t("console.transfer.error_full");
      if (code === "language_not_spoken") return t("console.transfer.error_language");
      if (code === "disconnected" || code === "timeout") return t("console.end.error_connection");
      return t("console.invite.error_other", { code });
    },
  });
}

async function requestLeave(tab) {
  const ack = await call(desk.socket, "chat:leave", { chat_id: tab.id });
  if (ack.ok || errorCode(ack) === "chat_not_found") {
    if (desk.tabs.get(tab.id) === tab) removeTab(tab, t("console.announce.you_left", { alias: tab.alias() }));
    return;
  }
  announce(t("console.invite.error_other", { code: errorCode(ack) }));
}

function requestFlag(tab) {
  openFlag({
    alias: tab.alias(),
    flags: tab.flags || [],
    submit: async (category) => {
      const ack = await call(desk.socket, "chat:flag", { chat_id: tab.id, category });
      if (ack.ok) {
        tab.setFlags(ack.flags, flagLabel);
        announce(t("console.flag.done", { alias: tab.alias(), label: flagLabel(category) }));
        return null;
      }
      const code = errorCode(ack);
      if (code === "chat_not_found") return t("console.flag.error_gone");
      if (code === "disconnected" || code === "timeout") return t("console.end.error_connection");
      return t("console.flag.error_other", { code });
    },
  });
}

function requestBlock(tab) {
  openBlock({
    chatId: tab.id,
    alias: tab.alias(),
    submit: async () => {
      tab.ending = true;
      const ack = await call(desk.socket, "chat:block", { chat_id: tab.id });
      if (ack.ok) {
        if (desk.tabs.get(tab.id) === tab) {
          removeTab(tab, t("console.announce.blocked_for", { alias: tab.alias(), minutes: ack.block_minutes }));
        }
        return null;
      }
      tab.ending = false;
      const code = errorCode(ack);
      if (code === "chat_not_found") {
        if (desk.tabs.get(tab.id) === tab) removeTab(tab, t("console.announce.removed", { alias: tab.alias() }));
        return null;
      }
      if (code === "disconnected" || code === "timeout") return t("console.end.error_connection");
      return t("console.block.error_other", { code });
    },
  });
}

// ------------------------------------------------------------ duty & queue

function renderDuty() {
  const duty = desk.duty;
  const known = Boolean(duty);
  let shift = t("console.duty.unknown");
  if (known) {
    shift = duty.on_shift
      ? duty.shift_ends_at
        ? t("console.duty.on_shift_until", { time: deskApi.clock(duty.shift_ends_at) })
        : t("console.duty.on_shift")
      : t("console.duty.off_shift");
  }
  $("duty-shift").textContent = shift;
  $("duty-available").textContent = known
    ? t(duty.available ? "console.duty.available" : "console.duty.unavailable")
    : t("console.duty.unknown");
  $("check-in").disabled = !known || duty.available;
  $("check-out").disabled = !known || !duty.available;
  const paused = known && duty.available && Boolean(duty.paused_since);
  $("pause").hidden = paused;
  $("pause").disabled = !known || !duty.available;
  $("resume").hidden = !paused;
  renderBreak();
  renderChatsEmpty();
  renderQueue();
}

// The break timer: "On a break for 4:05", counted from the server's paused_since.
function renderBreak() {
  const duty = desk.duty;
  const since = duty && duty.available && duty.paused_since ? Date.parse(duty.paused_since) : NaN;
  const node = $("duty-break");
  node.hidden = !Number.isFinite(since);
  if (node.hidden) return;
  const seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  node.textContent = t("console.duty.on_break_for", { time: clock });
}

// Who is on duty now, their languages, free places or break, and the manager on call (duty:roster).
function renderTeam() {
  const list = $("team-list");
  list.replaceChildren(
    ...desk.roster.map((entry) =>
      el(
        "li",
        { class: entry.paused_since ? "team-break" : "team-on" },
        el("span", { class: "team-alias", text: entry.alias }),
        " ",
        el("span", {
          class: "team-state",
          text: entry.paused_since ? t("console.team.on_break") : t("console.team.free", { n: entry.free }),
        }),
        el("span", {
          class: "team-languages",
          text: entry.languages && entry.languages.length
            ? entry.languages.map(languageName).join(", ")
            : t("console.transfer.any_language"),
        }),
      ),
    ),
  );
  $("team-empty").hidden = desk.roster.length > 0;
  const onCall = desk.onCall || [];
  $("on-call-list").replaceChildren(
    ...onCall.map((entry) =>
      el(
        "li",
        { class: entry.signed_in ? "team-on" : "team-break" },
        el("span", { class: "team-alias", text: entry.alias }),
        " ",
        el("span", {
          class: "team-state",
          text: entry.signed_in
            ? t("console.on_call.until", { time: deskApi.clock(entry.until) })
            : t("console.on_call.not_signed_in", { time: deskApi.clock(entry.until) }),
        }),
      ),
    ),
  );
  $("on-call-empty").hidden = onCall.length > 0;
}

function unstaffedText() {
  const onCall = [...desk.unstaffed.values()].some((a) => a.on_call);
  const n = desk.unstaffed.size;
  return onCall && !(desk.duty && desk.duty.on_shift)
    ? t("console.unstaffed.on_call", { n })
    : t("console.unstaffed.staff", { n });
}

// The loud notice of visitors waiting while nobody answers, until someone does.
function renderUnstaffed() {
  const box = $("unstaffed");
  const show = desk.unstaffed.size > 0;
  if (show) $("unstaffed-text").textContent = unstaffedText();
  const canCheckIn = Boolean(desk.duty && desk.duty.on_shift && !desk.duty.available);
  $("unstaffed-check-in").hidden = !canCheckIn;
  $("unstaffed-resume").hidden = !(desk.duty && desk.duty.available && desk.duty.paused_since);
  box.hidden = !show;
}

function forgetAnswered() {
  const waiting = new Set(desk.queue.map((entry) => entry.chat_id));
  for (const id of [...desk.unstaffed.keys()]) if (!waiting.has(id)) desk.unstaffed.delete(id);
  renderUnstaffed();
}

function showReconnected() {
  const text = t("console.reconnected.text");
  $("reconnected-text").textContent = text;
  $("reconnected").hidden = false;
  // role="alert" announces it; focus moves only when it takes nothing from a reply being typed.
  if (!isTyping()) $("reconnected-ok").focus();
  reconnectedAlert(text);
}

const DUTY_ANNOUNCEMENTS = {
  "duty:pause": () => "console.duty.now_paused",
  "duty:resume": () => "console.duty.now_resumed",
};

async function changeDuty(event, button) {
  const error = $("duty-error");
  error.hidden = true;
  button.disabled = true;
  if (event === "duty:check_in") await atCheckIn();
  const ack = await call(desk.socket, event, {});
  if (ack.ok) {
    desk.duty = ack.duty;
    const key = DUTY_ANNOUNCEMENTS[event]
      ? DUTY_ANNOUNCEMENTS[event]()
      : ack.duty.available
        ? "console.duty.now_available"
        : "console.duty.now_unavailable";
    announce(t(key));
    if (ack.duty.available && !ack.duty.paused_since) desk.unstaffed.clear();
    renderUnstaffed();
    const focusTo = event === "duty:pause" ? "resume" : event === "duty:resume" ? "pause" : null;
    if (focusTo) {
      renderDuty();
      $(focusTo).focus();
    }
  } else {
    const code = errorCode(ack);
    error.textContent =
      code === "not_on_shift"
        ? t("console.duty.error_not_on_shift")
        : code === "disconnected" || code === "timeout"
          ? t("console.duty.error_connection")
          : t("console.duty.error_other", { code });
    error.hidden = false;
  }
  renderDuty();
}

function speaksLanguage(code) {
  const mine = (desk.staff && desk.staff.languages) || [];
  return mine.length === 0 || mine.includes(code);
}

function activeChats() {
  let n = 0;
  for (const tab of desk.tabs.values()) if (tab.isActive()) n += 1;
  return n;
}

// Whether this member may take a queued chat out of turn now (docs/protocol.md, chat:take).
function canTake(entry) {
  const duty = desk.duty;
  if (!duty || !duty.available || !duty.on_shift || !desk.staff) return false;
  const limit = Number.isInteger(desk.staff.take_up_to) ? desk.staff.take_up_to : desk.staff.max_chats;
  return speaksLanguage(entry.language) && activeChats() < limit;
}

function renderQueue() {
  const queue = [...desk.queue].sort((a, b) => a.position - b.position);
  $("queue-count").textContent = t("console.queue.count", { n: queue.length });
  $("queue-empty").hidden = queue.length > 0;
  const now = Date.now();
  // The list itself numbers the entries (an <ol>): the text does not repeat the number.
  $("queue-list").replaceChildren(
    ...queue.map((entry) => {
      const since = Date.parse(entry.waiting_since);
      const waited = Number.isFinite(since) ? durationText((now - since) / 1000) : "";
      // A chat goes only to a member who speaks its language (docs/protocol.md, Routing).
      const yours = speaksLanguage(entry.language);
      const language = languageName(entry.language);
      const item = el(
        "li",
        { class: yours ? "queue-yours" : "queue-others", "data-language": entry.language, "data-chat-id": entry.chat_id },
        t("console.queue.entry", { language, waited }),
        " ",
        el("span", { class: "queue-fit", text: t(yours ? "console.queue.yours" : "console.queue.not_yours") }),
        // The first words the visitor wrote while waiting (live only, never stored).
        typeof entry.preview === "string" && entry.preview
          ? el("q", { class: "queue-preview", text: entry.preview })
          : "",
      );
      if (canTake(entry)) {
        const take = el("button", {
          type: "button",
          class: "btn btn-secondary queue-take",
          text: t("console.queue.take"),
          "aria-label": t("console.queue.take_label", { position: entry.position, language }),
        });
        take.addEventListener("click", () => takeChat(entry.chat_id, take));
        item.append(" ", take);
      }
      return item;
    }),
  );
}

async function takeChat(chatId, button) {
  const error = $("queue-error");
  error.hidden = true;
  button.disabled = true;
  const ack = await call(desk.socket, "chat:take", { chat_id: chatId });
  if (ack.ok) {
    const tab = upsertChat(ack.chat);
    desk.queue = desk.queue.filter((entry) => entry.chat_id !== chatId);
    renderQueue();
    selectTab(tab, true);
    announce(t("console.announce.taken", { alias: tab.alias() }));
    return;
  }
  const code = errorCode(ack);
  error.textContent =
    code === "chat_not_waiting" || code === "chat_not_found"
      ? t("console.queue.take_error_gone")
      : code === "staff_full"
        ? t("console.queue.take_error_full")
        : code === "language_not_spoken"
          ? t("console.queue.take_error_language")
          : code === "staff_not_on_duty"
            ? t("console.queue.take_error_not_on_duty")
            : code === "disconnected" || code === "timeout"
              ? t("console.duty.error_connection")
              : t("console.queue.take_error_other", { code });
  error.hidden = false;
  button.disabled = false;
}

// ------------------------------------------------------------ boot

async function boot() {
  await loadLanguage(pickLanguage(navigator.languages || [navigator.language], CATALOGUES));
  translateDom();
  updateTitle();
  installEndDialog();
  installCanned();
  installFlags();
  installHelpNow({
    socket: () => desk.socket,
    selfId: () => (desk.staff ? desk.staff.id : null),
    clock: deskApi.clock,
    chatAlias: (chatId) => {
      const tab = desk.tabs.get(chatId);
      return tab ? tab.alias() : null;
    },
    selectedChatId: () => (desk.selected ? desk.selected.id : null),
    announce: (text) => announce(text),
    alert: (text) => unstaffedAlert(text),
  });
  installHandoff();
  installAlerts(() => ({
    chats: desk.unopened.size,
    messages: unreadCount(),
    unstaffed: desk.unstaffed.size,
  }));
  setInterval(() => desk.socket && refreshShifts(), SHIFTS_REFRESH_MS);
  $("login-form").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", onLogout);
  $("check-in").addEventListener("click", (event) => changeDuty("duty:check_in", event.currentTarget));
  $("check-out").addEventListener("click", (event) => changeDuty("duty:check_out", event.currentTarget));
  $("pause").addEventListener("click", (event) => changeDuty("duty:pause", event.currentTarget));
  $("resume").addEventListener("click", (event) => changeDuty("duty:resume", event.currentTarget));
  $("unstaffed-check-in").addEventListener("click", (event) => changeDuty("duty:check_in", event.currentTarget));
  $("unstaffed-resume").addEventListener("click", (event) => changeDuty("duty:resume", event.currentTarget));
  $("unstaffed-dismiss").addEventListener("click", () => {
    desk.unstaffed.clear();
    renderUnstaffed();
  });
  $("reconnected-ok").addEventListener("click", () => ($("reconnected").hidden = true));
  setInterval(renderBreak, 1000);
  $("tablist").addEventListener("keydown", onTablistKey);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && desk.selected) desk.selected.clearUnread();
    updateTitle();
  });
  setInterval(renderQueue, 30000); // waiting times keep growing
  // A broadcast lost between workers leaves no gap until the next message:
  // ask for anything newer now and then (see docs/protocol.md, delivery).
  setInterval(() => {
    if (!desk.socket || !desk.socket.connected) return;
    for (const tab of desk.tabs.values()) if (tab.isActive()) tab.fetchMissing();
  }, BACKSTOP_FETCH_MS);

  const session = await http.me();
  if (session.ok) {
    $("login-view").hidden = false;
    signInSteps(session.data, "");
  }
  else showLogin(session.status === 0 ? t("console.login.error_network") : null);
}

boot();
