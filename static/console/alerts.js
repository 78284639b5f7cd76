// Console alerts, on by default and kept per account on the server (GET/PATCH
// /api/account/alerts): a tone for a new chat, a softer tone for a new message
// in a chat that is not in view, both repeating until that chat is opened; a
// loud tone for a visitor waiting while nobody answers; a desktop notification
// while the console is not in front; the unread count in the page title and
// favicon. Tones are made with WebAudio (no sound file, nothing from elsewhere).
// The browser's notification permission is asked once, at a check-in.

import { $ } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";
import * as http from "../shared/api.js";

// How often a tone repeats while something is still unopened (a background tab may stretch it).
const REPEAT_MS = 15000;

let audio = null;
let prefs = { sound: true, desktop: true, permission_asked: false };
let pending = () => ({ chats: 0, messages: 0, unstaffed: 0 });
let repeatTimer = null;

function permission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

function on() {
  return prefs.sound || prefs.desktop;
}

function renderStatus() {
  $("alerts-toggle").checked = on();
  const state = permission();
  $("alerts-status").textContent = !on()
    ? t("console.alerts.off")
    : state === "granted"
      ? t("console.alerts.on")
      : state === "denied" || state === "unsupported"
        ? t("console.alerts.sound_only")
        : t("console.alerts.asking");
}

// The AudioContext is made in a user gesture: browsers only allow sound after one.
function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  if (!audio) audio = new Context();
  if (audio.state === "suspended") audio.resume();
}

// kind: "chat" (two rising notes), "message" (one soft note), "urgent" (three loud notes).
const TONES = {
  chat: { notes: [[0, 660], [0.18, 880]], volume: 0.25 },
  message: { notes: [[0, 520]], volume: 0.08 },
  urgent: { notes: [[0, 880], [0.2, 660], [0.4, 880]], volume: 0.45 },
};

function tone(kind) {
  if (!prefs.sound || !audio) return;
  const { notes, volume } = TONES[kind];
  const start = audio.currentTime;
  for (const [offset, frequency] of notes) {
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = kind === "urgent" ? "square" : "sine";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(volume, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(start + offset);
    oscillator.stop(start + offset + 0.17);
  }
}

function inFront() {
  return document.visibilityState === "visible" && document.hasFocus();
}

function notify(title, body, tag) {
  if (!prefs.desktop || permission() !== "granted" || inFront()) return;
  try {
    const note = new Notification(title, { body, tag, silent: true });
    note.onclick = () => {
      window.focus();
      note.close();
    };
  } catch {
    /* notifications can fail (e.g. on some mobiles): the tone was played */
  }
}

async function save(change) {
  prefs = { ...prefs, ...change };
  renderStatus();
  const answer = await http.changeAlertPrefs(change);
  if (answer.ok) prefs = answer.data;
  renderStatus();
}

async function onToggle(event) {
  const wanted = event.currentTarget.checked;
  if (wanted) unlockAudio();
  await save({ sound: wanted, desktop: wanted });
  if (wanted) await askPermission();
}

async function askPermission() {
  if (!prefs.desktop || permission() !== "default") return;
  renderStatus();
  try {
    await Notification.requestPermission();
  } catch {
    /* an old browser without the promise form: sound only */
  }
  renderStatus();
}

// Keep repeating the most urgent tone while something waits to be opened.
function repeat() {
  const now = pending();
  if (now.unstaffed) tone("urgent");
  else if (now.chats) tone("chat");
  else if (now.messages) tone("message");
  else stopRepeat();
}

function startRepeat() {
  if (!repeatTimer) repeatTimer = setInterval(repeat, REPEAT_MS);
}

function stopRepeat() {
  clearInterval(repeatTimer);
  repeatTimer = null;
}

export function installAlerts(pendingCounts) {
  pending = pendingCounts;
  $("alerts-toggle").addEventListener("change", onToggle);
  // Sound needs a gesture on every page load before it may play.
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  renderStatus();
}

// After signing in: the member's preferences from the server.
export async function loadAlertPrefs() {
  const answer = await http.alertPrefs();
  if (answer.ok) prefs = answer.data;
  renderStatus();
}

// A check-in click: a gesture, so sound is unlocked and the permission asked (once per account).
export async function atCheckIn() {
  unlockAudio();
  if (prefs.permission_asked) return;
  await askPermission();
  await save({ permission_asked: true });
}

// A new chat arrived: no visitor text goes into the notification, only the pseudonym.
export function newChatAlert(alias) {
  tone("chat");
  notify(t("console.alerts.notification_title"), t("console.alerts.notification_body", { alias }), "dutychat-new-chat");
  startRepeat();
}

// A new visitor message in a chat that is not in view (never the text itself).
export function newMessageAlert(alias) {
  tone("message");
  notify(t("console.alerts.message_title"), t("console.alerts.message_body", { alias }), "dutychat-new-message");
  startRepeat();
}

// A visitor waits while nobody answers (duty:alert): loud, and repeated until it is over.
export function unstaffedAlert(text) {
  tone("urgent");
  notify(t("console.alerts.unstaffed_title"), text, "dutychat-unstaffed");
  startRepeat();
}

// Back on duty after a lost connection (duty:state reason "reconnected").
export function reconnectedAlert(text) {
  tone("chat");
  notify(t("console.alerts.reconnected_title"), text, "dutychat-reconnected");
}

// The page title and favicon carry the unread count, for a console behind other windows.
export function showUnread(count, title) {
  document.title = count ? `(${count}) ${title}` : title;
  let link = document.querySelector("link[rel='icon']");
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    document.head.append(link);
  }
  link.href = favicon(count);
}

function favicon(count) {
  const label = count > 99 ? "99+" : String(count);
  const badge = count
    ? `<circle cx="22" cy="10" r="10" fill="#b00020"/><text x="22" y="14" font-size="${label.length > 1 ? 10 : 13}" ` +
      `text-anchor="middle" fill="#fff" font-family="sans-serif" font-weight="bold">${label}</text>`
    : "";
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="2" y="6" width="24" height="20" rx="5" ` +
    `fill="#1d4e6e"/>${badge}</svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}
