// One chat's messages as both clients hold them: server messages keyed by seq
// plus an outbox of our own messages not yet acknowledged.
//
// The server numbers every message of a chat 1, 2, 3… (protocol §2.2), so the
// highest *contiguous* seq is what we safely "have": anything above a hole must
// be fetched again, and that is the number chat:resume / messages:fetch take.

import { TRANSIENT_CODES, sleep } from "./rpc.js";

const CLIENT_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";

// client_id: 1–64 chars of [A-Za-z0-9_-], unique per chat and sender.
export function newClientId(prefix) {
  const bytes = new Uint8Array(10);
  crypto.getRandomValues(bytes);
  let rand = "";
  for (const b of bytes) rand += CLIENT_ID_CHARS[b % CLIENT_ID_CHARS.length];
  return `${prefix}-${Date.now().toString(36)}-${rand}`;
}

function isMessage(m) {
  return m && Number.isInteger(m.seq) && m.seq > 0 && typeof m.text === "string";
}

export class Thread {
  constructor(self, saved = {}) {
    this.self = self; // "visitor" or "staff": which messages are ours
    this.messages = new Map();
    // {client_id, text, status: "sending" | "failed", error}
    this.outbox = Array.isArray(saved.outbox) ? saved.outbox.filter((i) => i && i.client_id) : [];
    for (const m of saved.messages || []) this.add(m);
  }

  // Returns true when the message was new; a seq we already hold is ignored.
  add(m) {
    if (!isMessage(m) || this.messages.has(m.seq)) return false;
    this.messages.set(m.seq, m);
    if (m.sender === this.self && m.client_id) {
      this.outbox = this.outbox.filter((i) => i.client_id !== m.client_id);
    }
    return true;
  }

  addAll(list) {
    let added = false;
    for (const m of list || []) added = this.add(m) || added;
    return added;
  }

  get lastSeq() {
    let n = 0;
    while (this.messages.has(n + 1)) n += 1;
    return n;
  }

  get maxSeq() {
    let max = 0;
    for (const seq of this.messages.keys()) max = Math.max(max, seq);
    return max;
  }

  hasGap() {
    return this.maxSeq > this.lastSeq;
  }

  list() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  enqueue(text, prefix) {
    const item = { client_id: newClientId(prefix), text, status: "sending" };
    this.outbox.push(item);
    return item;
  }

  // The ack can beat message:new; record the message right away so the
  // bubble shows "sent" and the later broadcast of the same seq is ignored.
  confirm(item, seq, chatId) {
    this.add({
      chat_id: chatId,
      seq,
      sender: this.self,
      client_id: item.client_id,
      text: item.text,
      sent_at: new Date().toISOString(),
    });
    this.outbox = this.outbox.filter((i) => i !== item);
  }

  toJSON() {
    return { messages: this.list(), outbox: this.outbox };
  }
}

// Sends a thread's outbox one message at a time, in order, until each is
// acknowledged. A retry reuses the client_id, so a message whose ack was lost
// is not duplicated (the server answers duplicate: true with the first seq).
export class Sender {
  constructor(thread, { send, chatId, onChange, onGap }) {
    this.thread = thread;
    this.send = send; // (item) => Promise<ack>
    this.chatId = chatId;
    this.onChange = onChange;
    this.onGap = onGap;
    this.paused = true;
    this.running = false;
  }

  start() {
    this.paused = false;
    this.pump();
  }

  stop() {
    this.paused = true;
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    let attempt = 0;
    try {
      while (!this.paused) {
        const item = this.thread.outbox.find((i) => i.status === "sending");
        if (!item) break;
        const ack = await this.send(item);
        // message:new or a resume may have delivered it meanwhile.
        if (!this.thread.outbox.includes(item)) continue;
        if (ack.ok) {
          attempt = 0;
          this.thread.confirm(item, ack.seq, this.chatId());
          this.onChange();
          if (this.thread.hasGap()) this.onGap();
          continue;
        }
        const code = ack.error.code;
        if (code === "disconnected" || code === "no_active_chat" || code === "chat_not_active") {
          // The owner restarts us once the chat is usable again (resumed, re-assigned).
          this.paused = true;
          break;
        }
        if (TRANSIENT_CODES.has(code)) {
          attempt += 1;
          await sleep(Math.min(1000 * 2 ** attempt, 15000));
          continue;
        }
        item.status = "failed";
        item.error = code;
        this.onChange();
      }
    } finally {
      this.running = false;
    }
  }
}

// ---------------------------------------------------------------- message text
//
// Message text is always inserted as text. A link becomes clickable only when
// it is http(s) on the default port, has no user info, and its host is on the
// configured allow-list (GET /api/status → link_allowlist); anything else,
// javascript: and data: included, stays inert text.

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'")\]}>]+$/;
let linkHosts = new Set();
const rendered = new WeakMap(); // node -> text it shows, so unchanged text is left alone

export function setLinkAllowlist(hosts) {
  linkHosts = new Set(
    (Array.isArray(hosts) ? hosts : []).filter((h) => typeof h === "string").map((h) => h.toLowerCase()),
  );
}

export function allowedLink(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password || url.port) return null;
  return linkHosts.has(url.hostname.toLowerCase().replace(/\.$/, "")) ? url.href : null;
}

// The hosts of the links in `text` that stay plain text (not on the allow-list), each once, in order.
export function plainLinkHosts(text) {
  const hosts = [];
  for (const match of String(text).matchAll(URL_PATTERN)) {
    const candidate = match[0].replace(TRAILING, "");
    if (!candidate || allowedLink(candidate)) continue;
    let host;
    try {
      host = new URL(candidate).host || candidate;
    } catch {
      host = candidate;
    }
    if (!hosts.includes(host)) hosts.push(host);
  }
  return hosts;
}

// Fill `node` with `text`: text nodes, plus <a> for allowed links.
export function renderMessageText(node, text) {
  const key = `${[...linkHosts].join(" ")}\n${text}`;
  if (rendered.get(node) === key) return;
  rendered.set(node, key);
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const candidate = match[0].replace(TRAILING, "");
    const href = candidate ? allowedLink(candidate) : null;
    if (!href) continue;
    if (match.index > last) parts.push(document.createTextNode(text.slice(last, match.index)));
    const link = document.createElement("a");
    link.href = href;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    link.referrerPolicy = "no-referrer";
    link.textContent = candidate;
    parts.push(link);
    last = match.index + candidate.length;
  }
  if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
  node.replaceChildren(...parts);
}
