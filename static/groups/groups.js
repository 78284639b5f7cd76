// The moderator page of peer group sessions (docs/protocol.md §13): coming
// sessions with sign-up, the planning form for managers (plan.js; the roster
// page plans them too) and for a running one the room on /moderate (room.js;
// the staff console shows it too). Message text is shown, never stored.

import { t, translateDom } from "../i18n/i18n.js";
import { me as fetchMe, status as fetchStatus } from "../shared/api.js";
import { $ } from "../shared/dom.js";
import { loadPageLanguage } from "../shared/language.js";
import { mountNav } from "../shared/nav.js";
import { announce } from "../shared/status.js";
import { mountPlanning, mountSessions } from "./plan.js";
import { mountRoom } from "./room.js";

const state = { me: null, lang: "en" };

function showError(code) {
  const node = $("error");
  node.textContent = t("console.group.error", { code });
  node.hidden = false;
}

function clearError() {
  $("error").hidden = true;
}

async function main() {
  state.lang = await loadPageLanguage();
  translateDom();
  const who = await fetchMe();
  if (!who.ok) {
    $("signed-out").hidden = false;
    return;
  }
  state.me = who.data.staff;
  mountNav($("site-nav"), state.me.role, "/groups/");
  const common = {
    lang: () => state.lang, showError, clearError, announce: (text) => announce($("status"), text),
  };
  const room = mountRoom({ ...common, host: $("room-host"), onEnded: () => sessions.load() });
  const sessions = mountSessions({ ...common, host: $("sessions-host"), me: () => state.me, onModerate: (s) => room.open(s) });
  if (state.me.role === "manager" || state.me.role === "admin") {
    const status = await fetchStatus();
    mountPlanning({
      ...common, host: $("plan-host"), languages: status.ok ? status.data.languages : ["en"], onCreated: () => sessions.load(),
    });
  }
  await sessions.load();
}

main();
