// The outbox of activity entries: a submit is queued first (with its
// idempotency key, client_id) and removed only when the server has answered
// it, so a phone that loses its connection after a field visit sends it later
// and a retry never counts twice (the server answers the first entry again).
// Entries are kept in localStorage without their note: a note is free text
// and stays in this tab's memory only (lost if the page is closed unsent).

const PREFIX = "dutychat.activities.outbox.";
// Seconds between automatic retries, growing to the last.
const BACKOFF = [5, 15, 30, 60];

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Outbox {
  // `owner`: the signed-in member's id (one outbox per member on a shared phone);
  // `send(body)`: answers the api() result.
  constructor(owner, send, storage = window.localStorage) {
    this.key = `${PREFIX}${owner}`;
    this.send = send;
    this.storage = storage;
    this.notes = new Map();
    this.failures = 0;
    this.timer = null;
    this.running = false;
    this.onchange = () => {};
  }

  items() {
    try {
      const items = JSON.parse(this.storage.getItem(this.key) || "[]");
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  save(items) {
    if (items.length) this.storage.setItem(this.key, JSON.stringify(items));
    else this.storage.removeItem(this.key);
  }

  // Queue an entry; answers its client_id.
  add(body) {
    const clientId = newClientId();
    const { note, ...stored } = body;
    if (note) this.notes.set(clientId, note);
    this.save([...this.items(), { client_id: clientId, body: stored }]);
    return clientId;
  }

  remove(clientId) {
    this.notes.delete(clientId);
    this.save(this.items().filter((item) => item.client_id !== clientId));
  }

  // Send every queued entry in order. Answers {sent: [replies], refused:
  // [{item, error}], waiting: n, offline: bool, signedOut: bool}. An entry the server refuses
  // (4xx other than 401/429) leaves the outbox: sending it again cannot help.
  async flush() {
    const result = { sent: [], refused: [], waiting: 0, offline: false, signedOut: false };
    if (this.running) return { ...result, waiting: this.items().length };
    this.running = true;
    clearTimeout(this.timer);
    try {
      for (const item of this.items()) {
        const note = this.notes.get(item.client_id);
        const reply = await this.send({ ...item.body, ...(note ? { note } : {}), client_id: item.client_id });
        if (reply.ok) {
          this.remove(item.client_id);
          result.sent.push({ item, reply });
        } else if (reply.status === 401) {
          // The session ended while the phone was away: kept until the member signs in again.
          result.signedOut = true;
          break;
        } else if (reply.status === 0 || reply.status >= 500 || reply.status === 429) {
          result.offline = true;
          break;
        } else {
          this.remove(item.client_id);
          result.refused.push({ item, error: reply.error });
        }
      }
    } finally {
      this.running = false;
    }
    result.waiting = this.items().length;
    if (result.waiting && !result.signedOut) this.later();
    else this.failures = 0;
    this.onchange(result);
    return result;
  }

  later() {
    const wait = BACKOFF[Math.min(this.failures, BACKOFF.length - 1)];
    this.failures += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), wait * 1000);
  }
}
