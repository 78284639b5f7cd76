// Open debrief requests, live, for managers and admins (docs/protocol.md §4.2, debrief:requested and
// debrief:done): who asked and when, nothing about the chat. The reports page lists them too.

import { $, el } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";

let open = new Map(); // debrief_id -> Debrief
let shown = false;
let clock = (iso) => iso;

function render() {
  const list = [...open.values()].sort((a, b) => String(a.requested_at).localeCompare(String(b.requested_at)));
  $("debriefs-list").replaceChildren(
    ...list.map((d) => {
      const item = t("reports.debrief.item", { alias: d.alias, time: clock(d.requested_at) });
      return el(
        "li",
        {},
        el("span", { text: item }),
        " ",
        el("button", {
          type: "button",
          class: "btn btn-secondary",
          text: t("reports.debrief.done"),
          "aria-label": `${t("reports.debrief.done")}: ${item}`,
          onclick: async () => {
            const done = await api("POST", `/api/debriefs/${encodeURIComponent(d.debrief_id)}/done`);
            if (done.ok || done.status === 409 || done.status === 404) {
              open.delete(d.debrief_id);
              $("debriefs-status").textContent = t("reports.debrief.marked", { alias: d.alias });
              render();
              $("debriefs-title").focus();
            }
          },
        }),
      );
    }),
  );
  $("debriefs-card").hidden = !shown || open.size === 0;
}

// A manager's or admin's console: load the open requests, then keep them current from the pushes.
export async function loadDebriefs(isManager, formatClock) {
  shown = isManager;
  clock = formatClock;
  if (!shown) return render();
  const reply = await api("GET", "/api/debriefs");
  open = new Map((reply.ok ? reply.data.debriefs : []).map((d) => [d.debrief_id, d]));
  render();
}

export function debriefRequested(debrief, announce) {
  if (!shown || !debrief || !debrief.debrief_id) return;
  open.set(debrief.debrief_id, debrief);
  render();
  announce(t("console.debrief.requested_live", { alias: debrief.alias }));
}

export function debriefDone(debrief) {
  if (!debrief || !open.delete(debrief.debrief_id)) return;
  render();
}
