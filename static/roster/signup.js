// Staff taking an open place on a duty date and giving their own place back.

import { t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { el } from "../shared/dom.js";
import { change } from "./changes.js";
import { context } from "./context.js";

export function signUpButton(occ, when, key) {
  return el("button", {
    type: "button",
    class: "btn btn-primary",
    text: t("roster.occ.sign_up"),
    "aria-label": t("roster.occ.sign_up_label", { when }),
    onclick: () =>
      change(
        () => api("POST", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}/staff`, {}),
        t("roster.status.signed_up", { when }),
        key,
      ),
  });
}

export function releaseButton(occ, when, key) {
  return el("button", {
    type: "button",
    class: "btn btn-secondary",
    text: t("roster.occ.release"),
    "aria-label": t("roster.occ.release_label", { when }),
    onclick: () =>
      change(
        () => api("DELETE", `/api/roster/slots/${occ.slot_id}/dates/${occ.date}/staff/${context.me.id}`),
        t("roster.status.released", { when }),
        key,
      ),
  });
}
