// Independent conformance client for dutychat, written only from docs/protocol.md.
//
// Usage:
//   node tests/js/protocol_client.mjs --url http://127.0.0.1:PORT --phase closed|main \
//     --staff USER --password PW --manager USER --manager-password PW --staff-grace SECONDS \
//     [--expect-next-opening ISO]
//
// Progress goes to stderr. On success the last stdout line is
//   {"ok": true, "checks": [...], "notes": [...]}
// and the exit code is 0; on the first failed expectation the exit code is 1.

import { parseArgs } from "node:util";
import { io } from "socket.io-client";

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    phase: { type: "string" },
    staff: { type: "string" },
    password: { type: "string" },
    manager: { type: "string" },
    "manager-password": { type: "string" },
    "staff-grace": { type: "string", default: "30" },
    "expect-next-opening": { type: "string" },
  },
  strict: true,
});

for (const required of ["url", "phase", "staff", "password", "manager", "manager-password"]) {
  if (!args[required]) {
    process.stderr.write(`missing --${required}\n`);
    process.exit(2);
  }
}
const BASE = args.url.replace(/\/+$/, "");
const STAFF_GRACE = Number(args["staff-grace"]);
const T0 = Date.now();

// ---------------------------------------------------------------- reporting

const checks = [];
const notes = [];
const openSockets = new Set();

class CheckFailed extends Error {}

function log(msg) {
  process.stderr.write(`[${((Date.now() - T0) / 1000).toFixed(2)}s] ${msg}\n`);
}

function show(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function fail(msg) {
  throw new CheckFailed(msg);
}

function expect(cond, msg) {
  if (!cond) fail(msg);
}

function expectEqual(actual, expected, what) {
  if (show(actual) !== show(expected)) {
    fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

// A mismatch with the document that does not block the rest of the run: recorded,
// and the run still fails at the end.
const deviations = [];
function deviate(msg) {
  deviations.push(msg);
  log(`DEVIATION ${msg}`);
}

function passed(name) {
  checks.push(name);
  log(`PASS ${name}`);
}

function note(text) {
  notes.push(text);
  log(`NOTE ${text}`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- shape checks (section 2.2)

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

function isIsoZ(v) {
  return typeof v === "string" && ISO_Z.test(v) && !Number.isNaN(Date.parse(v));
}

function checkChatId(v, what) {
  expect(typeof v === "string" && v.length > 0 && v.length <= 64, `${what}: chat_id must be a string of at most 64 characters, got ${show(v)}`);
}

function checkMessage(m, what) {
  expect(m && typeof m === "object", `${what}: Message must be an object, got ${show(m)}`);
  checkChatId(m.chat_id, what);
  expect(Number.isInteger(m.seq) && m.seq >= 1, `${what}: seq must be an integer >= 1: ${show(m)}`);
  expect(m.sender === "visitor" || m.sender === "staff", `${what}: sender must be visitor|staff: ${show(m)}`);
  expect(typeof m.client_id === "string" && CLIENT_ID.test(m.client_id), `${what}: bad client_id: ${show(m)}`);
  expect(typeof m.text === "string", `${what}: text must be a string: ${show(m)}`);
  expect(isIsoZ(m.sent_at), `${what}: sent_at must be ISO 8601 UTC with Z: ${show(m)}`);
}

const CHAT_STATE_KEYS = ["chat_id", "state", "language", "position", "estimate_seconds", "staff_alias", "next_opening", "last_seq"];

function checkChatState(c, what) {
  expect(c && typeof c === "object", `${what}: ChatState must be an object, got ${show(c)}`);
  for (const k of CHAT_STATE_KEYS) expect(k in c, `${what}: ChatState lacks field ${k}: ${show(c)}`);
  if (c.state === "closed") {
    // Section 2.2: "chat_id is null when state is closed (nothing was created)".
    expectEqual(c.chat_id, null, `${what}: chat_id of a closed chat`);
  } else {
    checkChatId(c.chat_id, what);
  }
  expect(["closed", "waiting", "active", "ended"].includes(c.state), `${what}: unknown state ${show(c.state)}`);
  expect(Number.isInteger(c.last_seq) && c.last_seq >= 0, `${what}: last_seq must be an integer >= 0: ${show(c)}`);
  if (c.state === "waiting") {
    expect(Number.isInteger(c.position) && c.position >= 1, `${what}: waiting chat needs position >= 1: ${show(c)}`);
    expect(c.estimate_seconds === null || typeof c.estimate_seconds === "number", `${what}: estimate_seconds number|null: ${show(c)}`);
  } else {
    expectEqual(c.position, null, `${what}: position outside waiting`);
    expectEqual(c.estimate_seconds, null, `${what}: estimate_seconds outside waiting`);
  }
  if (c.state === "active") {
    expect(typeof c.staff_alias === "string" && c.staff_alias.length > 0, `${what}: active chat needs staff_alias: ${show(c)}`);
  } else {
    expectEqual(c.staff_alias, null, `${what}: staff_alias outside active`);
  }
  if (c.state !== "closed" && c.state !== "ended") {
    expectEqual(c.next_opening, null, `${what}: next_opening outside closed/ended`);
  }
}

const STAFF_CHAT_KEYS = [
  "chat_id", "state", "language", "visitor_alias", "visitor_connected", "waited_seconds",
  "assigned_at", "last_seq", "messages", "end_reason",
];

function checkStaffChat(c, what) {
  expect(c && typeof c === "object", `${what}: StaffChat must be an object, got ${show(c)}`);
  for (const k of STAFF_CHAT_KEYS) expect(k in c, `${what}: StaffChat lacks field ${k}: ${show(c)}`);
  checkChatId(c.chat_id, what);
  expect(c.state === "active" || c.state === "ended", `${what}: StaffChat.state must be active|ended: ${show(c)}`);
  expect(typeof c.visitor_alias === "string" && c.visitor_alias.length > 0, `${what}: visitor_alias: ${show(c)}`);
  expect(typeof c.visitor_connected === "boolean", `${what}: visitor_connected boolean: ${show(c)}`);
  expect(typeof c.waited_seconds === "number" && c.waited_seconds >= 0, `${what}: waited_seconds: ${show(c)}`);
  expect(isIsoZ(c.assigned_at), `${what}: assigned_at ISO Z: ${show(c)}`);
  expect(Number.isInteger(c.last_seq), `${what}: last_seq: ${show(c)}`);
  expect(Array.isArray(c.messages), `${what}: messages array: ${show(c)}`);
  c.messages.forEach((m, i) => checkMessage(m, `${what} messages[${i}]`));
  if (c.state === "active") expectEqual(c.end_reason, null, `${what}: end_reason while active`);
}

function checkQueue(queue, what) {
  expect(Array.isArray(queue), `${what}: queue must be an array: ${show(queue)}`);
  queue.forEach((e, i) => {
    checkChatId(e.chat_id, `${what}[${i}]`);
    expectEqual(Object.keys(e).sort(), ["chat_id", "language", "position", "preview", "waiting_since"], `${what}[${i}] QueueEntry fields`);
    expect(e.preview === null || typeof e.preview === "string", `${what}[${i}].preview string or null: ${show(e)}`);
    expectEqual(e.position, i + 1, `${what}[${i}].position`);
    expect(isIsoZ(e.waiting_since), `${what}[${i}].waiting_since ISO Z: ${show(e)}`);
  });
}

// ---------------------------------------------------------------- HTTP

async function http(method, path, { body, cookie, csrf } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (cookie) headers.Cookie = `dutychat_session=${cookie}`;
  // protocol.md §6: state-changing staff requests carry the session's CSRF token.
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    fail(`${method} ${path}: answer is not JSON (status ${res.status}): ${text.slice(0, 300)}`);
  }
  return { status: res.status, json, headers: res.headers };
}

function expectHttpError(res, status, code, what) {
  expectEqual(res.status, status, `${what}: HTTP status`);
  expect(res.json && res.json.error && typeof res.json.error === "object", `${what}: error body must be {"error": {...}}: ${show(res.json)}`);
  expectEqual(res.json.error.code, code, `${what}: error.code`);
  expect(typeof res.json.error.message === "string", `${what}: error.message must be a string: ${show(res.json)}`);
}

// An HTTP error check whose failure does not block the rest of the run.
async function softHttpError(what, request, status, code) {
  let res;
  try {
    res = await request();
  } catch (err) {
    if (err instanceof CheckFailed) return deviate(`${what}: ${err.message}`);
    return deviate(`${what}: expected HTTP ${status} {"error": {"code": "${code}"}}, but the request failed: ${err.message}${err.cause ? ` (${err.cause.message})` : ""}`);
  }
  try {
    expectHttpError(res, status, code, what);
    return true;
  } catch (err) {
    if (err instanceof CheckFailed) return deviate(err.message);
    throw err;
  }
}

async function login(username, password) {
  const res = await http("POST", "/api/auth/login", { body: { username, password } });
  expectEqual(res.status, 200, `login ${username}: status (body ${show(res.json)})`);
  const staff = res.json.staff;
  for (const k of ["id", "username", "display_name", "alias", "role", "languages", "max_chats"]) {
    expect(staff && k in staff, `login ${username}: staff lacks ${k}: ${show(res.json)}`);
  }
  const setCookies = res.headers.getSetCookie();
  let cookie = null;
  for (const line of setCookies) {
    const m = /^dutychat_session=([^;]*)/.exec(line);
    if (m) {
      cookie = m[1];
      expect(/;\s*HttpOnly/i.test(line), `login: cookie must be HttpOnly: ${line}`);
      expect(/;\s*SameSite=Strict/i.test(line), `login: cookie must be SameSite=Strict: ${line}`);
      expect(/;\s*Path=\/(;|$)/i.test(line), `login: cookie must have Path=/: ${line}`);
    }
  }
  expect(cookie, `login ${username}: no dutychat_session cookie in ${show(setCookies)}`);
  const csrf = res.json.csrf_token;
  expect(typeof csrf === "string" && csrf.length > 0, `login ${username}: no csrf_token: ${show(res.json)}`);
  return { cookie, staff, csrf };
}

// ---------------------------------------------------------------- sockets

// Wraps a socket: records every server event (onAny) and lets the test wait for them.
class Client {
  constructor(name, namespace, extraOpts = {}) {
    this.name = name;
    this.namespace = namespace;
    this.received = new Map();
    this.listeners = new Set();
    this.socket = io(BASE + namespace, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      ...extraOpts,
    });
    openSockets.add(this.socket);
    this.socket.onAny((event, ...payload) => {
      if (payload.length !== 1) {
        note(`${this.name}: server event ${event} carried ${payload.length} arguments (one JSON object expected)`);
      }
      const data = payload[0];
      if (!this.received.has(event)) this.received.set(event, []);
      this.received.get(event).push(data);
      log(`${this.name} <- ${event} ${show(data)}`);
      for (const l of this.listeners) l();
    });
  }

  connected() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new CheckFailed(`${this.name}: no connect within 5 s`)), 5000);
      this.socket.once("connect", () => {
        clearTimeout(timer);
        resolve(this);
      });
      this.socket.once("connect_error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  events(event) {
    return this.received.get(event) ?? [];
  }

  count(event) {
    return this.events(event).length;
  }

  // Wait for an event (index >= from) that satisfies pred.
  waitFor(event, pred = () => true, { timeout = 5000, from = 0 } = {}) {
    return new Promise((resolve, reject) => {
      const look = () => {
        const items = this.events(event);
        for (let i = from; i < items.length; i++) {
          if (pred(items[i])) return items[i];
        }
        return undefined;
      };
      const found = look();
      if (found !== undefined) return resolve(found);
      const listener = () => {
        const hit = look();
        if (hit !== undefined) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new CheckFailed(`${this.name}: no ${event} matching within ${timeout} ms; received ${show(this.events(event).slice(from))}`));
      }, timeout);
      this.listeners.add(listener);
    });
  }

  // Every emit carries an acknowledgement. `payload === NO_ARG` sends no argument.
  async call(event, payload) {
    log(`${this.name} -> ${event} ${payload === NO_ARG ? "(no argument)" : show(payload).slice(0, 200)}`);
    let ack;
    try {
      ack = payload === NO_ARG
        ? await this.socket.timeout(5000).emitWithAck(event)
        : await this.socket.timeout(5000).emitWithAck(event, payload);
    } catch (err) {
      fail(`${this.name}: ${event} got no acknowledgement within 5 s (${err.message})`);
    }
    log(`${this.name} ack ${event} ${show(ack).slice(0, 400)}`);
    expect(ack && typeof ack === "object" && typeof ack.ok === "boolean", `${this.name}: ${event} ack must be an object with ok: ${show(ack)}`);
    if (!ack.ok) {
      expect(ack.error && typeof ack.error.code === "string" && typeof ack.error.message === "string",
        `${this.name}: ${event} error ack must be {"ok": false, "error": {"code", "message"}}: ${show(ack)}`);
    }
    return ack;
  }

  async ok(event, payload) {
    const ack = await this.call(event, payload);
    expect(ack.ok, `${this.name}: ${event} ${show(payload)} failed: ${show(ack)}`);
    return ack;
  }

  async error(event, payload, code) {
    const ack = await this.call(event, payload);
    expect(!ack.ok, `${this.name}: ${event} should fail with ${code} but succeeded: ${show(ack)}`);
    expectEqual(ack.error.code, code, `${this.name}: ${event} error code`);
    return ack;
  }

  close() {
    this.socket.disconnect();
    openSockets.delete(this.socket);
  }
}

const NO_ARG = Symbol("no argument");

async function visitor(name) {
  const c = new Client(name, "/visitor");
  await c.connected();
  return c;
}

async function staffSocket(name, cookie) {
  const c = new Client(name, "/staff", { extraHeaders: { Cookie: `dutychat_session=${cookie}` } });
  await c.connected();
  return c;
}

async function expectStaffRefused(what, extraHeaders) {
  const c = new Client(what, "/staff", extraHeaders ? { extraHeaders } : {});
  let err;
  try {
    await c.connected();
  } catch (e) {
    err = e;
  } finally {
    c.close();
  }
  expect(err, `${what}: /staff connection without a valid session was accepted`);
  expect(!(err instanceof CheckFailed), `${what}: ${err && err.message}`);
  // Section 2.1: the connect_error message is the error code, data is {"code", "message"}.
  expectEqual(err.message, "unauthenticated", `${what}: connect_error message`);
  expect(err.data && typeof err.data === "object", `${what}: connect_error carries no data object: ${err.message} ${show(err.data)}`);
  expectEqual(err.data.code, "unauthenticated", `${what}: connect_error data.code`);
  expect(typeof err.data.message === "string", `${what}: connect_error data.message must be a string: ${show(err.data)}`);
}

// ---------------------------------------------------------------- dates

function helsinkiDate(ms) {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Helsinki", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ms));
}

function shiftDate(ymd, days) {
  const d = new Date(`${ymd}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

async function summary(cookie) {
  const today = helsinkiDate(Date.now());
  const from = shiftDate(today, -1);
  const to = shiftDate(today, 1);
  const res = await http("GET", `/api/reports/summary?from=${from}&to=${to}`, { cookie });
  return { res, from, to };
}

function checkSummary(res, from, to) {
  expectEqual(res.status, 200, `summary status (body ${show(res.json)})`);
  const s = res.json;
  expectEqual(s.from, from, "summary.from");
  expectEqual(s.to, to, "summary.to");
  expectEqual(s.timezone, "Europe/Helsinki", "summary.timezone");
  const outcomes = ["answered", "abandoned", "unanswered", "closed", "blocked"];
  expectEqual(Object.keys(s.by_outcome).sort(), [...outcomes].sort(), "summary.by_outcome keys (every outcome present)");
  const sum = outcomes.reduce((a, k) => a + s.by_outcome[k], 0);
  expectEqual(s.total, sum, "summary.total equals the sum of by_outcome");
  expect(s.by_topic && typeof s.by_topic === "object", `summary.by_topic: ${show(s)}`);
  return s;
}

// ---------------------------------------------------------------- common checks

async function commonStatus() {
  const res = await http("GET", "/api/status");
  expectEqual(res.status, 200, "GET /api/status status");
  const st = res.json;
  for (const k of ["open", "next_opening", "languages", "max_message_length"]) {
    expect(k in st, `/api/status lacks ${k}: ${show(st)}`);
  }
  expect(Array.isArray(st.languages) && st.languages.length > 0, `/api/status languages: ${show(st)}`);
  expect(Number.isInteger(st.max_message_length) && st.max_message_length > 0, `/api/status max_message_length: ${show(st)}`);
  return st;
}

async function errorHandling(v, language) {
  // Section 2: unknown event names.
  await v.error("no:such_event", {}, "unknown_event");
  passed("visitor_unknown_event");
  // Section 2: missing argument, non-object argument, unknown field.
  await v.error("chat:start", NO_ARG, "invalid_payload");
  await v.error("chat:start", "en", "invalid_payload");
  await v.error("chat:start", { language, extra: 1 }, "invalid_payload");
  passed("visitor_invalid_payload");
  await v.error("chat:start", { language: "xx-unknown" }, "unsupported_language");
  passed("visitor_unsupported_language");
}

// ---------------------------------------------------------------- phase: closed

async function phaseClosed() {
  const st = await commonStatus();
  expectEqual(st.open, false, "/api/status open");
  expect(isIsoZ(st.next_opening), `/api/status next_opening must be an ISO Z time: ${show(st.next_opening)}`);
  expect(Date.parse(st.next_opening) > Date.now(), `/api/status next_opening must be in the future: ${st.next_opening}`);
  if (args["expect-next-opening"]) {
    const diff = Math.abs(Date.parse(st.next_opening) - Date.parse(args["expect-next-opening"]));
    expect(diff < 1000, `/api/status next_opening ${st.next_opening} is not the planned shift start ${args["expect-next-opening"]}`);
  }
  passed("status_closed_with_next_opening");

  const language = st.languages.includes("en") ? "en" : st.languages[0];
  const v = await visitor("visitor");
  await errorHandling(v, language);

  const ack = await v.ok("chat:start", { language });
  expectEqual(Object.keys(ack).sort(), ["chat", "ok", "resume_token"], "chat:start ack fields");
  checkChatState(ack.chat, "chat:start (closed)");
  expectEqual(ack.chat.state, "closed", "chat:start chat.state");
  expectEqual(ack.resume_token, null, "chat:start resume_token when closed");
  expectEqual(ack.chat.language, language, "chat:start chat.language");
  expect(isIsoZ(ack.chat.next_opening), `closed chat needs next_opening: ${show(ack.chat)}`);
  expectEqual(Date.parse(ack.chat.next_opening), Date.parse(st.next_opening), "chat.next_opening equals /api/status next_opening");
  passed("visitor_start_closed");

  // "the socket may call chat:start again later"
  const again = await v.ok("chat:start", { language });
  expectEqual(again.chat.state, "closed", "second chat:start state");
  expectEqual(again.resume_token, null, "second chat:start resume_token");
  passed("visitor_start_closed_again");

  // Nothing is held by the socket, so chat events have no chat.
  await v.error("message:send", { client_id: "m-1", text: "hello" }, "no_active_chat");
  await v.error("chat:end", {}, "no_active_chat");
  passed("closed_socket_holds_no_chat");

  // Staff side: refused without a cookie; the staff member has no shift now.
  await expectStaffRefused("staff-no-cookie");
  await expectStaffRefused("staff-bad-cookie", { Cookie: "dutychat_session=not-a-session" });
  passed("staff_connect_refused_unauthenticated");

  const { cookie } = await login(args.staff, args.password);
  const s = await staffSocket("staff", cookie);
  const sync = await s.ok("staff:sync", {});
  expectEqual(sync.duty.on_shift, false, "staff:sync duty.on_shift without a shift");
  expectEqual(sync.duty.available, false, "staff:sync duty.available before check-in");
  expectEqual(sync.chats, [], "staff:sync chats");
  expectEqual(sync.queue, [], "staff:sync queue (closed chats are not queued)");
  await s.error("duty:check_in", {}, "not_on_shift");
  passed("staff_check_in_not_on_shift");
  await s.error("no:such_event", {}, "unknown_event");
  passed("staff_unknown_event");

  // Reports: staff forbidden, manager sees the closed sessions.
  if (await softHttpError("GET /api/reports/summary as staff", async () => (await summary(cookie)).res, 403, "forbidden")) {
    passed("report_forbidden_for_staff");
  }
  if (await softHttpError("GET /api/reports/summary without session", async () => (await summary(null)).res, 401, "unauthenticated")) {
    passed("report_unauthenticated_without_session");
  }
  const boss = await login(args.manager, args["manager-password"]);
  const { res, from, to } = await summary(boss.cookie);
  const sm = checkSummary(res, from, to);
  // docs/protocol.md 3.1: two closed starts from one address within limits.closed_count_minutes are one arrival.
  expect(sm.by_outcome.closed === 1, `summary by_outcome.closed === 1 expected: ${show(sm)}`);
  passed("report_counts_closed");

  s.close();
  v.close();
}

// ---------------------------------------------------------------- phase: main

async function phaseMain() {
  const st = await commonStatus();
  // Section 2.2 Availability: a shift covers now but nobody is checked in: not open.
  expectEqual(st.availability, "unstaffed", "/api/status availability before anyone checks in");
  expectEqual(st.open, false, "/api/status open before anyone checks in");
  expectEqual(st.next_opening, null, "/api/status next_opening while a shift covers now");
  passed("status_unstaffed");
  const language = st.languages.includes("en") ? "en" : st.languages[0];
  const maxLen = st.max_message_length;

  // Topics, for chat:end later.
  const topicsRes = await http("GET", "/api/topics");
  expectEqual(topicsRes.status, 200, "GET /api/topics status");
  const groups = topicsRes.json.groups;
  expect(Array.isArray(groups) && groups.length > 0, `/api/topics groups: ${show(topicsRes.json)}`);
  const topic = groups.find((g) => g.topics && g.topics.length > 0)?.topics[0]?.code;
  expect(typeof topic === "string", `/api/topics has no topic code: ${show(topicsRes.json)}`);
  passed("topics_listed");

  // --- staff connects, syncs, checks in
  await expectStaffRefused("staff-no-cookie");
  passed("staff_connect_refused_unauthenticated");

  const login1 = await login(args.staff, args.password);
  const alias = login1.staff.alias;
  let staff = await staffSocket("staff", login1.cookie);
  let sync = await staff.ok("staff:sync", {});
  expectEqual(sync.staff.alias, alias, "staff:sync staff.alias");
  expectEqual(sync.staff.max_chats, 1, "staff:sync staff.max_chats");
  expectEqual(sync.duty.on_shift, true, "staff:sync duty.on_shift");
  expect(isIsoZ(sync.duty.shift_ends_at), `staff:sync duty.shift_ends_at: ${show(sync.duty)}`);
  expectEqual(sync.chats, [], "staff:sync chats");
  checkQueue(sync.queue, "staff:sync queue");
  const checkIn = await staff.ok("duty:check_in", {});
  expectEqual(checkIn.duty.available, true, "duty:check_in duty.available");
  expectEqual(checkIn.duty.paused_since, null, "duty:check_in duty.paused_since");
  passed("staff_sync_and_check_in");
  const stOpen = await commonStatus();
  expectEqual(stOpen.availability, "open", "/api/status availability once checked in");
  expectEqual(stOpen.open, true, "/api/status open");
  expectEqual(stOpen.next_opening, null, "/api/status next_opening while open");
  passed("status_open");
  await staff.error("no:such_event", {}, "unknown_event");
  passed("staff_unknown_event");

  // --- visitor A: assigned at once
  const a = await visitor("A");
  const ackA = await a.ok("chat:start", { language });
  checkChatState(ackA.chat, "A chat:start");
  expectEqual(ackA.chat.state, "active", "A chat.state");
  expectEqual(ackA.chat.staff_alias, alias, "A chat.staff_alias");
  expectEqual(ackA.chat.last_seq, 0, "A chat.last_seq");
  expect(typeof ackA.resume_token === "string" && ackA.resume_token.length > 0, `A resume_token: ${show(ackA)}`);
  const chatA = ackA.chat.chat_id;
  const tokenA = ackA.resume_token;
  const assignedA = await staff.waitFor("chat:assigned", (c) => c.chat_id === chatA);
  checkStaffChat(assignedA, "chat:assigned A");
  expectEqual(assignedA.state, "active", "chat:assigned A state");
  expectEqual(assignedA.language, language, "chat:assigned A language");
  expectEqual(assignedA.visitor_connected, true, "chat:assigned A visitor_connected");
  const leaked = show(ackA).includes(args.staff) || show(ackA).includes(login1.staff.display_name);
  expect(!leaked || args.staff === alias, `visitor ack leaks the staff login or real name: ${show(ackA)}`);
  passed("visitor_a_active_and_assigned");
  await a.error("chat:start", { language }, "chat_already_started");
  passed("chat_already_started");

  // --- visitors B and C: queued at 1 and 2
  const qMark = staff.count("queue:update");
  const b = await visitor("B");
  const ackB = await b.ok("chat:start", { language });
  checkChatState(ackB.chat, "B chat:start");
  expectEqual(ackB.chat.state, "waiting", "B chat.state");
  expectEqual(ackB.chat.position, 1, "B chat.position");
  const chatB = ackB.chat.chat_id;
  await staff.waitFor("queue:update", (u) => u.queue.length === 1 && u.queue[0].chat_id === chatB, { from: qMark });

  const c = await visitor("C");
  const ackC = await c.ok("chat:start", { language });
  checkChatState(ackC.chat, "C chat:start");
  expectEqual(ackC.chat.state, "waiting", "C chat.state");
  expectEqual(ackC.chat.position, 2, "C chat.position");
  const chatC = ackC.chat.chat_id;
  const q2 = await staff.waitFor("queue:update", (u) => u.queue.length === 2, { from: qMark });
  checkQueue(q2.queue, "queue:update after C");
  expectEqual(q2.queue.map((e) => e.chat_id), [chatB, chatC], "queue:update order after C");
  passed("visitors_b_c_waiting_positions_1_2");

  // --- B leaves: C moves to 1
  const cPosMark = c.count("queue:position");
  const qMark2 = staff.count("queue:update");
  const endB = await b.ok("chat:end", {});
  // B was still waiting: no rating ticket (only answered chats get one).
  expectEqual(endB, { ok: true, feedback_ticket: null }, "B chat:end ack");
  const posC = await c.waitFor("queue:position", (p) => p.position === 1, { from: cPosMark });
  expectEqual(posC.chat_id, chatC, "C queue:position chat_id");
  expect("estimate_seconds" in posC, `queue:position lacks estimate_seconds: ${show(posC)}`);
  const q3 = await staff.waitFor("queue:update", (u) => u.queue.length === 1, { from: qMark2 });
  checkQueue(q3.queue, "queue:update after B left");
  expectEqual(q3.queue[0].chat_id, chatC, "queue after B left");
  passed("b_leaves_c_position_1");
  await sleep(300);
  const bEnded = b.events("chat:ended");
  note(`leaving visitor B received chat:ended: ${show(bEnded)} (doc lists reason visitor_left but does not say whether the leaver is told)`);
  await b.error("message:send", { client_id: "b-1", text: "hi" }, "no_active_chat");
  b.close();

  // --- messages both ways
  const aMsg = (seq) => (m) => m.seq === seq;
  const sentA1 = await a.ok("message:send", { client_id: "a-1", text: "hello from A" });
  expectEqual(sentA1, { ok: true, seq: 1, duplicate: false }, "A message:send ack");
  for (const [who, cl] of [["A", a], ["staff", staff]]) {
    const m = await cl.waitFor("message:new", aMsg(1));
    checkMessage(m, `${who} message:new 1`);
    expectEqual([m.chat_id, m.sender, m.client_id, m.text], [chatA, "visitor", "a-1", "hello from A"], `${who} message:new 1`);
  }
  const sentS1 = await staff.ok("message:send", { chat_id: chatA, client_id: "s-1", text: "hello from staff <b>not bold</b>" });
  expectEqual(sentS1, { ok: true, seq: 2, duplicate: false }, "staff message:send ack");
  for (const [who, cl] of [["A", a], ["staff", staff]]) {
    const m = await cl.waitFor("message:new", aMsg(2));
    checkMessage(m, `${who} message:new 2`);
    expectEqual([m.chat_id, m.sender, m.client_id, m.text], [chatA, "staff", "s-1", "hello from staff <b>not bold</b>"], `${who} message:new 2`);
  }
  passed("messages_both_ways");

  // duplicate retry
  const retry = await a.ok("message:send", { client_id: "a-1", text: "hello from A" });
  expectEqual(retry, { ok: true, seq: 1, duplicate: true }, "A retry with the same client_id");
  const sentA2 = await a.ok("message:send", { client_id: "a-2", text: "second from A" });
  expectEqual(sentA2.seq, 3, "next seq after a duplicate retry");
  await a.waitFor("message:new", aMsg(3));
  await staff.waitFor("message:new", aMsg(3));
  await sleep(200);
  expectEqual(a.events("message:new").map((m) => m.seq), [1, 2, 3], "A message:new seqs (retry not delivered twice)");
  expectEqual(staff.events("message:new").filter((m) => m.chat_id === chatA).map((m) => m.seq), [1, 2, 3], "staff message:new seqs");
  const sRetry = await staff.ok("message:send", { chat_id: chatA, client_id: "s-1", text: "hello from staff <b>not bold</b>" });
  expectEqual(sRetry, { ok: true, seq: 2, duplicate: true }, "staff retry with the same client_id");
  passed("duplicate_client_id_retry");

  // message limits and payload errors
  await a.error("message:send", { client_id: "a-long", text: "x".repeat(maxLen + 1) }, "message_too_long");
  await staff.error("message:send", { chat_id: chatA, client_id: "s-long", text: "y".repeat(maxLen + 1) }, "message_too_long");
  passed("message_too_long");
  await a.error("message:send", { client_id: "a-empty", text: "   \n\t " }, "message_empty");
  passed("message_empty");
  await a.error("message:send", { client_id: "bad id!", text: "hi" }, "invalid_payload");
  await a.error("message:send", { client_id: "a-x", text: "hi", extra: true }, "invalid_payload");
  passed("message_invalid_payload");
  await staff.error("message:send", { chat_id: chatC, client_id: "s-c", text: "hi" }, "chat_not_found");
  passed("staff_chat_not_found");
  const sentMax = await a.ok("message:send", { client_id: "a-max", text: "z".repeat(maxLen) });
  expectEqual(sentMax.seq, 4, "message of exactly max_message_length accepted");
  await staff.waitFor("message:new", aMsg(4));
  passed("message_max_length_accepted");

  // typing both ways
  await a.ok("typing:set", { typing: true });
  const tv = await staff.waitFor("typing", (t) => t.chat_id === chatA && t.typing === true);
  expectEqual(tv, { chat_id: chatA, sender: "visitor", typing: true }, "staff typing event");
  await staff.ok("typing:set", { chat_id: chatA, typing: true });
  const ts = await a.waitFor("typing", (t) => t.typing === true);
  expectEqual(ts, { chat_id: chatA, sender: "staff", typing: true }, "visitor typing event");
  await staff.ok("typing:set", { chat_id: chatA, typing: false });
  await a.waitFor("typing", (t) => t.typing === false);
  passed("typing_both_ways");

  // messages:fetch
  const fetched = await a.ok("messages:fetch", { after_seq: 2 });
  expectEqual(fetched.messages.map((m) => m.seq), [3, 4], "visitor messages:fetch after_seq 2");
  const sFetched = await staff.ok("messages:fetch", { chat_id: chatA, after_seq: 0 });
  expectEqual(sFetched.messages.map((m) => m.seq), [1, 2, 3, 4], "staff messages:fetch after_seq 0");
  passed("messages_fetch");

  // --- resume
  let lastSeq = Math.max(...a.events("message:new").map((m) => m.seq));
  const presMark = staff.count("chat:presence");
  a.close();
  const presOff = await staff.waitFor("chat:presence", (p) => p.chat_id === chatA, { from: presMark });
  expectEqual(presOff, { chat_id: chatA, visitor_connected: false }, "chat:presence after the visitor dropped");
  const m5 = await staff.ok("message:send", { chat_id: chatA, client_id: "s-2", text: "are you there?" });
  const m6 = await staff.ok("message:send", { chat_id: chatA, client_id: "s-3", text: "I'll wait." });
  expectEqual([m5.seq, m6.seq], [lastSeq + 1, lastSeq + 2], "staff messages while the visitor is away");
  const a2 = await visitor("A2");
  const presMark2 = staff.count("chat:presence");
  const resumed = await a2.ok("chat:resume", { resume_token: tokenA, last_seq: lastSeq });
  checkChatState(resumed.chat, "chat:resume");
  expectEqual(resumed.chat.chat_id, chatA, "resumed chat_id");
  expectEqual(resumed.chat.state, "active", "resumed state");
  expectEqual(resumed.chat.staff_alias, alias, "resumed staff_alias");
  expectEqual(resumed.chat.last_seq, lastSeq + 2, "resumed last_seq");
  resumed.messages.forEach((m, i) => checkMessage(m, `resume messages[${i}]`));
  expectEqual(resumed.messages.map((m) => [m.seq, m.client_id, m.sender]), [[lastSeq + 1, "s-2", "staff"], [lastSeq + 2, "s-3", "staff"]], "chat:resume missed messages");
  const presOn = await staff.waitFor("chat:presence", (p) => p.chat_id === chatA, { from: presMark2 });
  expectEqual(presOn, { chat_id: chatA, visitor_connected: true }, "chat:presence after resume");
  await sleep(400);
  const doubled = a2.events("message:new").filter((m) => m.seq <= lastSeq + 2);
  expectEqual(doubled, [], "messages pushed again as message:new after resume");
  lastSeq += 2;
  const after = await a2.ok("message:send", { client_id: "a-3", text: "back again" });
  expectEqual(after.seq, lastSeq + 1, "seq after resume");
  await a2.waitFor("message:new", aMsg(lastSeq + 1));
  await staff.waitFor("message:new", aMsg(lastSeq + 1));
  lastSeq += 1;
  // Section 3.1: resuming the chat this socket already holds is harmless (a retry
  // after a lost ack): same chat, only messages after last_seq, no presence change.
  const presMark3 = staff.count("chat:presence");
  const again = await a2.call("chat:resume", { resume_token: tokenA, last_seq: lastSeq });
  if (!again.ok || again.chat.chat_id !== chatA || again.messages.length !== 0) {
    deviate(`chat:resume of the chat this socket already holds answered ${show(again)}; section 3.1 says it answers the same chat with the messages after last_seq`);
  }
  await sleep(200);
  if (staff.count("chat:presence") !== presMark3) {
    deviate("a repeated chat:resume on the holding socket pushed chat:presence although nothing changed");
  }
  const a3 = await visitor("A-bad");
  await a3.error("chat:resume", { resume_token: "no-such-token", last_seq: 0 }, "resume_failed");
  // Sections 2 and 3.1: last_seq is required; without it the resume is refused and the
  // socket holding the chat keeps it (it is not told resumed_elsewhere).
  const endedMark = a2.count("chat:ended");
  await a3.error("chat:resume", { resume_token: tokenA }, "invalid_payload");
  await sleep(200);
  if (a2.count("chat:ended") !== endedMark) {
    deviate("chat:resume without last_seq detached the socket holding the chat");
  }
  a3.close();
  passed("resume_with_missed_messages_only");

  // --- staff disconnect: requeue after staff_grace_seconds
  const aStateMark = a2.count("chat:state");
  const cStateMark2 = c.count("chat:state");
  const cPosMark2 = c.count("queue:position");
  const dropAt = Date.now();
  staff.close();
  log(`staff disconnected; waiting up to ${STAFF_GRACE + 3 + 2} s for the requeue`);
  const requeued = await a2.waitFor("chat:state", (s) => s.state === "waiting", { from: aStateMark, timeout: (STAFF_GRACE + 5) * 1000 });
  const elapsed = (Date.now() - dropAt) / 1000;
  checkChatState(requeued, "chat:state after staff loss");
  expectEqual(requeued.reason, "staff_disconnected", "chat:state reason");
  expectEqual(requeued.position, 1, "requeued position");
  expectEqual(requeued.chat_id, chatA, "requeued chat_id");
  expect(elapsed >= STAFF_GRACE - 0.5, `requeued after ${elapsed.toFixed(2)} s, before the ${STAFF_GRACE} s grace`);
  expect(elapsed <= STAFF_GRACE + 3 + 1, `requeued after ${elapsed.toFixed(2)} s, later than grace + 3 s`);
  // Nobody answers once the member's socket is gone: the Desk "unstaffed" appears for C as
  // chat:state (section 2.2, Desk); the requeue then moves C to 2 (queue:position).
  const deskC = await c.waitFor("chat:state", (s) => s.desk && s.desk.policy === "unstaffed", { from: cStateMark2 });
  expectEqual(deskC.chat_id, chatC, "C chat:state chat_id while nobody answers");
  const posC2 = await c.waitFor("queue:position", (p) => p.position === 2, { from: cPosMark2 });
  expectEqual(posC2.chat_id, chatC, "C queue:position chat_id after requeue");
  log(`requeued ${elapsed.toFixed(2)} s after the staff socket dropped`);
  passed("staff_disconnect_requeue");
  // A waiting visitor may write: the message waits for whoever takes the chat.
  const waitingSent = await a2.ok("message:send", { client_id: "a-w", text: "anyone?" });
  expectEqual(waitingSent, { ok: true, seq: lastSeq + 1, duplicate: false }, "message:send while waiting");
  lastSeq += 1;
  passed("waiting_chat_can_send");

  // --- staff comes back (same cookie) while on shift: section 4.2, Lost connection: checked in
  // again by the server (duty:state reason "reconnected"), and A comes back to them first
  const aStateMark2 = a2.count("chat:state");
  const cStateMark3 = c.count("chat:state");
  staff = await staffSocket("staff2", login1.cookie);
  const restored = await staff.waitFor("duty:state", (d) => d.reason === "reconnected");
  expectEqual(restored.available, true, "duty:state available after reconnecting");
  const reassigned = await staff.waitFor("chat:assigned", (x) => x.chat_id === chatA);
  sync = await staff.ok("staff:sync", {});
  expectEqual(sync.duty.available, true, "staff:sync duty.available after reconnecting (checked in again)");
  expectEqual(sync.chats.map((x) => x.chat_id), [chatA], "staff:sync chats after reconnecting");
  checkQueue(sync.queue, "staff:sync queue after reconnecting");
  expectEqual(sync.queue.map((e) => e.chat_id), [chatC], "staff:sync queue after reconnecting");
  checkStaffChat(reassigned, "chat:assigned after requeue");
  expectEqual(reassigned.state, "active", "re-assigned state");
  expectEqual(reassigned.last_seq, lastSeq, "re-assigned last_seq");
  expectEqual(reassigned.messages.map((m) => m.seq), Array.from({ length: lastSeq }, (_, i) => i + 1), "re-assigned messages");
  const activeAgain = await a2.waitFor("chat:state", (s) => s.state === "active", { from: aStateMark2 });
  checkChatState(activeAgain, "chat:state re-assigned");
  expectEqual(activeAgain.staff_alias, alias, "re-assigned staff_alias");
  // Someone answers again: the desk goes, told as chat:state with C's new place.
  const posC3 = await c.waitFor("chat:state", (s) => s.position === 1, { from: cStateMark3 });
  expect(!("desk" in posC3), `C desk after the member is back: ${show(posC3)}`);
  passed("staff_back_reassigned");

  // --- staff ends A with topics
  await staff.error("chat:end", { chat_id: chatA, topics: [] }, "topics_required");
  passed("chat_end_topics_required");
  await staff.error("chat:end", { chat_id: chatA, topics: ["no.such_topic_code"] }, "unknown_topic");
  passed("chat_end_unknown_topic");
  const ended = await staff.ok("chat:end", { chat_id: chatA, topics: [topic] });
  expectEqual(ended, { ok: true, outcome: "answered" }, "staff chat:end ack");
  const endedA = await a2.waitFor("chat:ended", (e) => e.chat_id === chatA);
  expectEqual(endedA.reason, "staff_ended", "A chat:ended reason");
  expect("next_opening" in endedA, `chat:ended lacks next_opening: ${show(endedA)}`);
  passed("staff_ends_chat_with_topics");
  await staff.error("messages:fetch", { chat_id: chatA, after_seq: 0 }, "chat_not_found");
  await a2.error("message:send", { client_id: "a-late", text: "hello?" }, "no_active_chat");
  const sync2 = await staff.ok("staff:sync", {});
  expect(!sync2.chats.some((x) => x.chat_id === chatA), `ended and tagged chat still in staff:sync chats: ${show(sync2.chats)}`);
  passed("ended_chat_gone");
  await sleep(300);
  note(`after A ended, C received chat:state ${show(c.events("chat:state"))}; staff chat:assigned for C: ${staff.events("chat:assigned").some((x) => x.chat_id === chatC)}`);

  // --- reports
  if (await softHttpError("GET /api/reports/summary as staff", async () => (await summary(login1.cookie)).res, 403, "forbidden")) {
    passed("report_forbidden_for_staff");
  }
  const boss = await login(args.manager, args["manager-password"]);
  const { res, from, to } = await summary(boss.cookie);
  const sm = checkSummary(res, from, to);
  expect(sm.by_outcome.answered >= 1, `summary answered >= 1: ${show(sm)}`);
  expect(sm.by_outcome.abandoned >= 1, `summary abandoned >= 1: ${show(sm)}`);
  expect((sm.by_topic[topic] ?? 0) >= 1, `summary by_topic[${topic}] >= 1: ${show(sm)}`);
  passed("report_summary_counts");
  if (await softHttpError("GET /api/reports/summary with to before from",
    () => http("GET", `/api/reports/summary?from=${to}&to=${from}`, { cookie: boss.cookie }), 400, "invalid_request")) {
    passed("report_invalid_range");
  }

  // --- clean up: C leaves, sockets close, staff logs out
  const endC = await c.ok("chat:end", {});
  // C was answered: the ack carries a one-time rating ticket, the same as in chat:ended.
  expectEqual(Object.keys(endC).sort(), ["feedback_ticket", "ok"], "C chat:end ack fields");
  expect(typeof endC.feedback_ticket === "string" && endC.feedback_ticket.length >= 16, `C chat:end ack ticket: ${show(endC)}`);
  c.close();
  a2.close();
  await staff.ok("duty:check_out", {});
  staff.close();
  const out = await http("POST", "/api/auth/logout", { cookie: login1.cookie, csrf: login1.csrf });
  expectEqual(out.status, 200, "logout status");
  await expectStaffRefused("staff-revoked", { Cookie: `dutychat_session=${login1.cookie}` });
  passed("logout_revokes_session");
}

// ---------------------------------------------------------------- main

async function main() {
  log(`phase ${args.phase} against ${BASE}`);
  if (args.phase === "closed") await phaseClosed();
  else if (args.phase === "main") await phaseMain();
  else fail(`unknown --phase ${args.phase}`);
}

function closeAll() {
  for (const s of openSockets) s.disconnect();
  openSockets.clear();
}

main().then(
  () => {
    closeAll();
    if (deviations.length) {
      process.stderr.write(`FAILED: ${deviations.length} deviation(s) from docs/protocol.md:\n${deviations.map((d) => `  - ${d}`).join("\n")}\n`);
      process.stdout.write(JSON.stringify({ ok: false, deviations, checks, notes }) + "\n");
      process.exit(1);
    }
    process.stdout.write(JSON.stringify({ ok: true, checks, notes }) + "\n");
    process.exit(0);
  },
  (err) => {
    closeAll();
    let msg = err instanceof CheckFailed ? err.message : (err && err.stack) || String(err);
    if (err && err.cause) msg += `\ncause: ${(err.cause && err.cause.stack) || show(err.cause)}`;
    process.stderr.write(`FAILED: ${msg}\n`);
    if (deviations.length) process.stderr.write(`also ${deviations.length} deviation(s):\n${deviations.map((d) => `  - ${d}`).join("\n")}\n`);
    process.stdout.write(JSON.stringify({ ok: false, error: msg, deviations, checks, notes }) + "\n");
    process.exit(1);
  },
);
