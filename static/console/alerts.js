// Opt-in alerts for a new chat: a short tone made with WebAudio (no sound file,
// nothing from elsewhere) and a desktop notification through the Notification
// API while the console is not in front. The choice is remembered in this
// browser's localStorage (staff only; the widget never uses localStorage).

import { $ } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";

const KEY = "dutychat.console.alerts";
let audio = null;

function enabled() {
  try {
    return localStorage.getItem(KEY) === "on";
  } catch {
    return false;
  }
}

function remember(on) {
  try {
    if (on) localStorage.setItem(KEY, "on");
    else localStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: the choice lasts for this page only */
  }
}

function permission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

function renderStatus() {
  const on = $("alerts-toggle").checked;
  const state = permission();
  $("alerts-status").textContent = !on
    ? t("console.alerts.off")
    : state === "granted"
      ? t("console.alerts.on")
      : state === "denied" || state === "unsupported"
        ? t("console.alerts.sound_only")
        : t("console.alerts.asking");
}

// The AudioContext is made in a click handler: browsers only allow sound after a user gesture.
function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  if (!audio) audio = new Context();
  if (audio.state === "suspended") audio.resume();
}

function tone() {
  if (!audio) return;
  const start = audio.currentTime;
  for (const [offset, frequency] of [
    [0, 660],
    [0.18, 880],
  ]) {
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(start + offset);
    oscillator.stop(start + offset + 0.17);
  }
}

async function onToggle(event) {
  const on = event.currentTarget.checked;
  remember(on);
  if (on) {
    unlockAudio();
    if (permission() === "default") {
      renderStatus();
      try {
        await Notification.requestPermission();
      } catch {
        /* an old browser without the promise form: sound only */
      }
    }
  }
  renderStatus();
}

export function installAlerts() {
  const toggle = $("alerts-toggle");
  toggle.checked = enabled();
  toggle.addEventListener("change", onToggle);
  // A remembered choice still needs a gesture before sound may play.
  document.addEventListener("pointerdown", () => enabled() && unlockAudio(), { once: true });
  document.addEventListener("keydown", () => enabled() && unlockAudio(), { once: true });
  renderStatus();
}

// A new chat arrived: no visitor text goes into the notification, only the pseudonym.
export function newChatAlert(alias) {
  if (!enabled()) return;
  tone();
  if (permission() !== "granted" || (document.visibilityState === "visible" && document.hasFocus())) return;
  try {
    const note = new Notification(t("console.alerts.notification_title"), {
      body: t("console.alerts.notification_body", { alias }),
      tag: "dutychat-new-chat",
      silent: true,
    });
    note.onclick = () => {
      window.focus();
      note.close();
    };
  } catch {
    /* notifications can fail (e.g. on some mobiles): the tone was played */
  }
}
