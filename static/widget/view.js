// DOM rendering for the widget. Everything a visitor or staff member typed is
// inserted as text (shared/thread.js renderMessageText): only links to
// allow-listed hosts become anchors.

import { $, el, formatTime } from "../shared/dom.js";
import { clockFormat } from "../shared/clock.js";
import { t } from "../i18n/i18n.js";
import { renderMessageText } from "../shared/thread.js";

const VIEWS = ["loading", "error", "closed", "intro", "chat"];

export function showView(name) {
  for (const view of VIEWS) $(`view-${view}`).hidden = view !== name;
}

export function formatOpening(iso, lang) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return null;
  // No timeZone option: the visitor's own local time is what they plan by.
  return clockFormat(lang, undefined, { weekday: "long", day: "numeric", month: "long" }).format(date);
}

// This week's opening hours (GET /api/status → opening_hours) in the
// visitor's own time zone: the server's days are the organisation's local
// days, so periods are regrouped by the visitor's calendar day.
function localDayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

function mergedPeriods(days) {
  const periods = [];
  for (const day of Array.isArray(days) ? days : []) {
    for (const p of (day && day.periods) || []) {
      const start = new Date(p.start);
      const end = new Date(p.end);
      if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) continue;
      periods.push({ start, end });
    }
  }
  periods.sort((a, b) => a.start - b.start);
  const merged = [];
  // The server splits periods at the organisation's midnight; join them again.
  for (const p of periods) {
    const last = merged[merged.length - 1];
    if (last && p.start <= last.end) last.end = new Date(Math.max(last.end, p.end));
    else merged.push({ ...p });
  }
  return merged;
}

function timeRange(start, end, locale) {
  const format = clockFormat(locale);
  try {
    return format.formatRange(start, end);
  } catch {
    return `${format.format(start)}–${format.format(end)}`;
  }
}

export function renderHours(days, locale) {
  const list = $("hours");
  const periods = mergedPeriods(days);
  const known = Array.isArray(days) && days.length > 0;
  $("hours-title").hidden = !known;
  $("hours-zone").hidden = !known;
  if (!known) return list.replaceChildren();

  const byDay = new Map();
  for (const p of periods) {
    const key = localDayKey(p.start);
    if (!byDay.has(key)) byDay.set(key, []);
    byDay.get(key).push(p);
  }
  const dayFormat = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "numeric" });
  const today = new Date();
  const items = [];
  for (let i = 0; i < days.length; i += 1) {
    const day = new Date(today.getFullYear(), today.getMonth(), today.getDate() + i, 12);
    const open = byDay.get(localDayKey(day)) || [];
    items.push(
      el(
        "li",
        {},
        el("span", { class: "hours-day", text: dayFormat.format(day) }),
        open.length
          ? el("span", { class: "hours-times", text: open.map((p) => timeRange(p.start, p.end, locale)).join(", ") })
          : el("span", { class: "hours-closed", text: t("widget.hours.closed") }),
      ),
    );
  }
  list.replaceChildren(...items);
  let zone = "";
  try {
    zone = new Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    /* unknown zone: say nothing about it */
  }
  setText("hours-zone", zone ? t("widget.hours.zone", { zone }) : t("widget.hours.zone_local"));
}

// The name of a language in the visitor's own language (Intl), else its own name.
export function languageName(code, locale, fallback) {
  try {
    const name = new Intl.DisplayNames([locale], { type: "language" }).of(code);
    if (name && name !== code) return name;
  } catch {
    /* no DisplayNames: the language's own name */
  }
  return fallback || code;
}

// "Wed 12–16, Thu 10–14": the coming periods of one language desk (GET /api/status → desks).
export function deskHoursText(days, locale, limit = 3) {
  const now = new Date();
  const dayFormat = new Intl.DateTimeFormat(locale, { weekday: "short" });
  return mergedPeriods(days)
    .filter((p) => p.end > now)
    .slice(0, limit)
    .map((p) => `${dayFormat.format(p.start)} ${timeRange(p.start, p.end, locale)}`)
    .join(", ");
}

export function openingText(iso, lang) {
  const when = formatOpening(iso, lang);
  return when ? t("widget.closed.next", { when }) : t("widget.closed.none");
}

function durationText(seconds, lang) {
  const minutes = Math.max(1, Math.round(seconds / 60));
  try {
    return new Intl.NumberFormat(lang, { style: "unit", unit: "minute", unitDisplay: "long" }).format(minutes);
  } catch {
    return `${minutes} min`;
  }
}

// Without a speaker of the chat's language on duty (chat.desk) the desk box says what
// happens; "someone will answer as soon as they are free" would not be true.
export function waitingText(chat, lang) {
  const parts = [];
  if (chat.position === 1) parts.push(t("widget.waiting.position_next"));
  else if (Number.isInteger(chat.position)) parts.push(t("widget.waiting.position", { position: chat.position }));
  if (Number.isFinite(chat.estimate_seconds) && chat.estimate_seconds > 0) {
    parts.push(t("widget.waiting.estimate", { duration: durationText(chat.estimate_seconds, lang) }));
  } else if (!chat.desk) {
    parts.push(t("widget.waiting.no_estimate"));
  }
  return parts.join(" ");
}

export function setText(id, text) {
  const node = $(id);
  if (node.textContent !== text) node.textContent = text;
}

export function showBanner(text) {
  setText("banner", text);
  $("banner").hidden = false;
}

export function hideBanner() {
  $("banner").hidden = true;
}

export function setTyping(text) {
  setText("typing", text || "");
  $("typing").hidden = !text;
}

export function showComposerError(text) {
  setText("composer-error", text || "");
  $("composer-error").hidden = !text;
}

// --- message log ---------------------------------------------------------
//
// The log is updated in place, never rebuilt: a rebuilt role="log" region
// would read every message out again. Own messages are keyed by client_id so
// the bubble created while "sending" is the one that later says "sent".

const nodes = new Map(); // key -> <li>
let onRetry = () => {};

// Called with the client_id of a failed message the visitor wants to send again.
export function setRetryHandler(handler) {
  onRetry = handler;
}

function keyOf(message) {
  return message.sender === "visitor" && message.client_id ? `c:${message.client_id}` : `s:${message.seq}`;
}

function messageNode(key, own) {
  const li = el(
    "li",
    { class: own ? "msg msg-own" : "msg msg-other", dataset: { key } },
    el("p", { class: "msg-meta" }, el("span", { class: "msg-sender" }), " ", el("span", { class: "msg-time" })),
    el("p", { class: "msg-text" }),
  );
  if (own) {
    li.append(
      el("p", { class: "msg-state" }),
      el("button", {
        type: "button",
        class: "btn btn-plain msg-retry",
        hidden: true,
        onclick: () => onRetry(key.slice(2)),
      }),
    );
  }
  return li;
}

function fill(li, { sender, time, text, state, failed, retryable }) {
  li.querySelector(".msg-sender").textContent = sender;
  li.querySelector(".msg-time").textContent = time;
  renderMessageText(li.querySelector(".msg-text"), text);
  const stateNode = li.querySelector(".msg-state");
  if (stateNode) {
    stateNode.textContent = state;
    li.classList.toggle("msg-failed", Boolean(failed));
    const retry = li.querySelector(".msg-retry");
    retry.textContent = t("widget.delivery.retry");
    retry.hidden = !retryable;
  }
}

// Sending the same text again cannot help with these.
const FINAL_CODES = ["message_too_long", "message_empty", "chat_full"];

function failureKey(code) {
  return code === "message_too_long" || code === "message_empty" || code === "chat_full"
    ? `widget.error.${code}`
    : "widget.error.send_failed";
}

// notes: [{key, afterSeq, text}] — local system lines such as "Aino joined".
export function renderLog(thread, notes, { lang, staffName }) {
  const log = $("log");
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const entries = [];

  for (const m of thread.list()) {
    const own = m.sender === "visitor";
    entries.push({
      key: keyOf(m),
      order: m.seq,
      own,
      data: {
        sender: own ? t("widget.you") : m.alias || staffName || t("widget.staff_default"),
        time: formatTime(m.sent_at, lang),
        text: m.text,
        state: own ? t("widget.delivery.sent") : "",
      },
    });
  }
  for (const note of notes) entries.push({ key: note.key, order: note.afterSeq + 0.5, note });
  entries.sort((a, b) => a.order - b.order);
  for (const item of thread.outbox) {
    const failed = item.status === "failed";
    entries.push({
      key: `c:${item.client_id}`,
      own: true,
      data: {
        sender: t("widget.you"),
        time: "",
        text: item.text,
        state: failed ? `${t("widget.delivery.failed")}: ${t(failureKey(item.error))}` : t("widget.delivery.sending"),
        failed,
        retryable: failed && !FINAL_CODES.includes(item.error),
      },
    });
  }

  const wanted = new Set(entries.map((e) => e.key));
  // Announce others' new messages and notes, not one's own nor a reload's history.
  const announce = nodes.size > 0;
  const fresh = [];
  for (const [key, node] of nodes) {
    if (!wanted.has(key)) {
      node.remove();
      nodes.delete(key);
    }
  }
  entries.forEach((entry, index) => {
    let node = nodes.get(entry.key);
    if (!node) {
      node = entry.note ? el("li", { class: "note", dataset: { key: entry.key } }) : messageNode(entry.key, entry.own);
      nodes.set(entry.key, node);
      if (announce && !entry.own) fresh.push(entry);
    }
    if (entry.note) node.textContent = t(entry.note.text, entry.note.params);
    else fill(node, entry.data);
    if (log.children[index] !== node) log.insertBefore(node, log.children[index] || null);
  });
  if (nearBottom) log.scrollTop = log.scrollHeight;
  if (fresh.length) {
    const said = fresh.map((e) => (e.note ? t(e.note.text, e.note.params) : `${e.data.sender}: ${e.data.text}`));
    $("log-announce").textContent = said.join("\n");
  }
}

export function clearLog() {
  nodes.clear();
  $("log").replaceChildren();
  $("log-announce").textContent = "";
}

export function buildLanguageOffer(offered, current, names, choose) {
  const others = offered.filter((code) => code !== current);
  $("lang-offer").hidden = others.length === 0;
  $("lang-offer-list").replaceChildren(
    ...others.map((code) =>
      el("button", { type: "button", class: "btn btn-secondary", lang: code, text: names[code] || code, onclick: () => choose(code) }),
    ),
  );
}

export function buildLanguageSelect(select, offered, current, names) {
  select.replaceChildren(
    ...offered.map((code) => {
      const option = el("option", { value: code, lang: code, text: names[code] });
      option.selected = code === current;
      return option;
    }),
  );
}
