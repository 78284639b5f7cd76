// The peer group moderator view inside the console (docs/protocol.md §13.2):
// the running sessions the signed-in member is signed up to moderate (on the
// roster or /groups/), and the room itself (../groups/room.js):
// participants by nickname, messages, moderation, reports, new messages
// announced politely. A peer leader's console (role "peer": no one-to-one
// chats, no reports) shows only this.

import { language, t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { $, el, formatTime } from "../shared/dom.js";
import { announce as announceIn } from "../shared/status.js";
import { mountRoom, sessionTitle } from "../groups/room.js";

const REFRESH_MS = 60000;
const desk = { staff: null, room: null, timer: null };

function showError(code) {
  $("group-desk-error").textContent = t("console.group.error", { code });
  $("group-desk-error").hidden = false;
}

function clearError() {
  $("group-desk-error").hidden = true;
}

// Signed up to moderate it (a manager who moderates any session does so from /groups/).
function mine(session) {
  return session.moderators.includes(desk.staff.id);
}

async function refresh() {
  if (!desk.staff) return;
  const reply = await api("GET", "/api/roster/group-sessions?days=1");
  if (!reply.ok) return showError(reply.error.code);
  const now = Date.now();
  const running = reply.data.sessions.filter((s) => Date.parse(s.starts_at) <= now && now < Date.parse(s.ends_at) && mine(s));
  const open = desk.room.current();
  $("group-desk-sessions").replaceChildren(
    ...running.map((s) =>
      el(
        "li",
        {},
        el("span", { class: "group-when" }, `${sessionTitle(s, language())} · ${formatTime(s.starts_at, language())}–${formatTime(s.ends_at, language())}`),
        open && open.room_id === s.room_id
          ? null
          : el("button", { type: "button", class: "btn btn-primary", onclick: () => moderate(s) }, t("console.group.moderate")),
      ),
    ),
  );
  $("group-desk-empty").hidden = running.length > 0 || Boolean(open);
  // A moderator's console shows the part only while they have a session; a peer leader's always.
  $("group-desk").hidden = desk.staff.role !== "peer" && !running.length && !open;
}

async function moderate(session) {
  await desk.room.open(session);
  await refresh();
}

export function installGroupDesk(staff) {
  desk.staff = staff;
  const peer = staff.role === "peer";
  $("desk-view").classList.toggle("desk-peer", peer);
  if (!desk.room) {
    desk.room = mountRoom({
      host: $("group-desk-room"), prefix: "grp-", lang: language, showError, clearError,
      announce: (text) => announceIn($("group-desk-status"), text), onEnded: refresh,
    });
  }
  clearInterval(desk.timer);
  desk.timer = setInterval(refresh, REFRESH_MS);
  return refresh();
}

export function teardownGroupDesk() {
  clearInterval(desk.timer);
  desk.timer = null;
  desk.staff = null;
  if (desk.room) desk.room.close();
  $("group-desk").hidden = true;
  $("desk-view").classList.remove("desk-peer");
}
