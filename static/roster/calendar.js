// Calendar feeds: a secret iCal link for the caller's own shifts (managers
// also one for everyone's), shown once when made, and revoking it.

import { t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { el } from "../shared/dom.js";
import { confirmAction, copyField } from "../shared/page.js";
import { announce, errorText, showError } from "./changes.js";

// Fill `container` with the controls of the feed of `scope` ("own" or "all").
export function renderCalendar(container, scope) {
  const prefix = `cal-${scope}`;
  const output = el("div", { class: "cal-output", hidden: true });
  const input = el("input", { id: `${prefix}-url`, type: "text", readonly: true, class: "cal-url", spellcheck: "false" });
  const copy = el("button", { type: "button", class: "btn btn-secondary", text: t("roster.calendar.copy") });
  output.append(
    el("label", { for: input.id, text: t(scope === "all" ? "roster.calendar.url_all" : "roster.calendar.url_own") }),
    el("div", { class: "cal-row" }, input, copy),
    el("p", { class: "muted hint", text: t("roster.calendar.shown_once") }),
  );
  const create = el("button", {
    type: "button",
    class: "btn btn-primary",
    text: t(scope === "all" ? "roster.calendar.create_all" : "roster.calendar.create_own"),
  });
  const revoke = el("button", {
    type: "button",
    class: "btn btn-danger",
    text: t(scope === "all" ? "roster.calendar.revoke_all" : "roster.calendar.revoke_own"),
  });

  create.addEventListener("click", async () => {
    showError(null);
    create.disabled = true;
    const result = await api("POST", "/api/roster/calendar", { scope });
    create.disabled = false;
    if (!result.ok) return showError(errorText(result.error));
    input.value = result.data.url;
    output.hidden = false;
    input.focus();
    input.select();
    announce(t("roster.status.calendar_created"));
  });
  copy.addEventListener("click", async () => {
    input.focus();
    input.select();
    const copied = await copyField(input);
    announce(t(copied ? "roster.status.copied" : "roster.status.copy_failed"));
  });
  revoke.addEventListener("click", async () => {
    if (!(await confirmAction(t("roster.confirm.revoke_calendar"), revoke.textContent))) return;
    showError(null);
    const result = await api("DELETE", `/api/roster/calendar?scope=${scope}`);
    if (!result.ok) return showError(errorText(result.error));
    input.value = "";
    output.hidden = true;
    announce(t("roster.status.calendar_revoked"));
  });

  const heading =
    scope === "all" ? el("h3", { class: "cal-scope", text: t("roster.calendar.all_title") }) : null;
  container.replaceChildren(
    ...[heading, el("div", { class: "actions" }, create, revoke), output].filter(Boolean),
  );
}
