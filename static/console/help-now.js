// Help now (docs/protocol.md §4, help:raise, help:answer, help:alarm, help:answered): one button
// (and Alt+H anywhere in the console) raises an alarm on every on-duty console and the manager
// on call's, with who needs help and in which chat, until someone answers "I'm here".

import { $, el } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";
import { call, errorCode } from "../shared/rpc.js";

const REPEAT_MS = 8000;
const alarms = new Map(); // alarm_id -> {alarm, node}
let api = null; // {socket(), selfId(), clock(iso), chatAlias(chatId), selectedChatId(), announce(text), alert(text)}
let repeat = null;

function alarmText(alarm) {
  const self = api.selfId();
  if (alarm.by.staff_id === self) return t("console.help.own", { time: api.clock(alarm.raised_at) });
  const alias = alarm.chat_id ? api.chatAlias(alarm.chat_id) || alarm.visitor_alias : null;
  return alias
    ? t("console.help.needs_in", { from: alarm.by.alias, alias, time: api.clock(alarm.raised_at) })
    : t("console.help.needs", { from: alarm.by.alias, time: api.clock(alarm.raised_at) });
}

function render() {
  $("help-alarms").hidden = alarms.size === 0;
  // The raiser's own notice is not "a colleague needs you".
  const allOwn = [...alarms.values()].every(({ alarm }) => alarm.by.staff_id === api.selfId());
  $("help-alarms-title").textContent = allOwn ? t("console.help.button") : t("console.help.title");
  if (alarms.size && !repeat) {
    // Until someone answers: the tone and notification again, also in a background tab.
    repeat = setInterval(() => {
      for (const { alarm } of alarms.values()) if (alarm.by.staff_id !== api.selfId()) api.alert(alarmText(alarm));
    }, REPEAT_MS);
  } else if (!alarms.size && repeat) {
    clearInterval(repeat);
    repeat = null;
  }
}

export function showAlarm(alarm) {
  if (!alarm || !alarm.alarm_id || alarms.has(alarm.alarm_id)) return;
  const text = alarmText(alarm);
  const own = alarm.by.staff_id === api.selfId();
  const node = el(
    "li",
    { class: "help-alarm" },
    el("span", { class: "help-text", text }),
    " ",
    el("button", {
      type: "button",
      class: own ? "btn btn-secondary" : "btn btn-danger",
      text: own ? t("console.help.cancel") : t("console.help.answer"),
      onclick: (event) => answer(alarm, event.currentTarget),
    }),
  );
  alarms.set(alarm.alarm_id, { alarm, node });
  $("help-alarm-list").append(node);
  render();
  api.announce(text);
  if (!own) api.alert(text);
}

export function alarmAnswered(event) {
  const held = event && alarms.get(event.alarm_id);
  if (!held) return;
  held.node.remove();
  alarms.delete(event.alarm_id);
  render();
  const self = api.selfId();
  const who = event.answered_by.staff_id === self ? t("console.chat.you") : event.answered_by.alias;
  const text = event.by.staff_id === self
    ? t("console.help.answered_own", { alias: who })
    : t("console.help.answered", { alias: who, from: event.by.alias });
  $("help-status").textContent = text;
  api.announce(text);
}

export function syncAlarms(list) {
  const open = new Set((list || []).map((a) => a.alarm_id));
  for (const [id, held] of alarms) {
    if (!open.has(id)) {
      held.node.remove();
      alarms.delete(id);
    }
  }
  for (const alarm of list || []) showAlarm(alarm);
  render();
}

async function answer(alarm, button) {
  button.disabled = true;
  const ack = await call(api.socket(), "help:answer", { alarm_id: alarm.alarm_id });
  if (ack.ok) return alarmAnswered(ack.answered);
  button.disabled = false;
  if (errorCode(ack) === "alarm_not_found") alarmAnswered({ alarm_id: alarm.alarm_id, by: alarm.by, answered_by: { staff_id: 0, alias: "" } });
}

async function raise() {
  const button = $("help-now");
  button.disabled = true;
  try {
    const chatId = api.selectedChatId();
    const ack = await call(api.socket(), "help:raise", chatId ? { chat_id: chatId } : {});
    if (ack.ok) {
      $("help-status").textContent = t("console.help.raised");
      showAlarm(ack.alarm);
    } else if (errorCode(ack) === "chat_not_found") {
      const retry = await call(api.socket(), "help:raise", {});
      if (retry.ok) showAlarm(retry.alarm);
    } else {
      $("help-status").textContent = t("console.help.error", { code: errorCode(ack) });
    }
  } finally {
    button.disabled = false;
  }
}

export function installHelpNow(desk) {
  api = desk;
  $("help-now").addEventListener("click", raise);
  document.addEventListener("keydown", (event) => {
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyH" && !$("desk-view").hidden) {
      event.preventDefault();
      raise();
    }
  });
}
