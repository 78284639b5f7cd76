// The manager on call (docs/protocol.md §7, /api/roster/on-call): this week's periods for
// everyone; for managers a form to plan one and a Remove button on each. A period is not a
// chat shift: it gives no chats; the consoles show who is on call while it covers now.

import { t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { addDays } from "../shared/dates.js";
import { $, el } from "../shared/dom.js";
import { change } from "./changes.js";
import { context } from "./context.js";
import { dayText, localDate, rangeText } from "./format.js";
import { activeStaff } from "./slots.js";
import { weekStart } from "./week.js";

let periods = [];

export async function loadOnCall() {
  const from = weekStart();
  const reply = await api("GET", `/api/roster/on-call?from=${from}&to=${addDays(from, 6)}`);
  periods = reply.ok ? reply.data.periods || [] : [];
}

export function renderOnCall() {
  $("on-call-list").replaceChildren(
    ...periods.map((period) =>
      el(
        "li",
        { "data-focus": `on-call-${period.period_id}` },
        el("span", { class: "on-call-who", text: period.alias }),
        " ",
        el("span", { text: `${dayText(localDate(period.starts_at))} ${rangeText(period.starts_at, period.ends_at)}` }),
        context.manager
          ? el("button", {
              type: "button",
              class: "btn btn-plain",
              text: t("roster.on_call.remove"),
              "aria-label": t("roster.on_call.remove_label", { alias: period.alias }),
              onclick: () =>
                change(
                  () => api("DELETE", `/api/roster/on-call/${encodeURIComponent(period.period_id)}`),
                  t("roster.on_call.removed", { alias: period.alias }),
                  "on-call-title",
                ),
            })
          : null,
      ),
    ),
  );
  $("on-call-empty").hidden = periods.length > 0;
  if (!context.manager) return;
  const select = $("on-call-staff");
  const keep = select.value;
  select.replaceChildren(...activeStaff().map((s) => el("option", { value: String(s.id), text: s.alias })));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

export function installOnCallForm() {
  $("on-call-form").hidden = false;
  $("on-call-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {
      staff_id: Number($("on-call-staff").value),
      date: $("on-call-date").value,
      start: $("on-call-start").value,
      end: $("on-call-end").value,
    };
    const alias = $("on-call-staff").selectedOptions[0]?.textContent || "";
    change(() => api("POST", "/api/roster/on-call", body), t("roster.on_call.added", { alias }), "on-call-title");
  });
}
