// "My shifts this week" from GET /api/roster/mine (docs/protocol.md §7).

import { $, el } from "../shared/dom.js";
import { language, t } from "../i18n/i18n.js";
import * as http from "../shared/api.js";

function format(iso, options) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  // The browser's time zone, like every other time in the console; 24-hour times.
  const locale = language() === "en" ? "en-GB" : language();
  return new Intl.DateTimeFormat(locale, options).format(date);
}

export async function refreshShifts() {
  const result = await http.myShifts();
  const list = $("shifts-list");
  const empty = $("shifts-empty");
  if (!result.ok || !Array.isArray(result.data.shifts)) {
    list.replaceChildren();
    empty.textContent = t("console.shifts.error");
    empty.hidden = false;
    return;
  }
  const now = Date.now();
  const shifts = [...result.data.shifts].sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  list.replaceChildren(
    ...shifts.map((shift) => {
      const current = Date.parse(shift.starts_at) <= now && now < Date.parse(shift.ends_at);
      const past = Date.parse(shift.ends_at) <= now;
      const text = t("console.shifts.entry", {
        day: format(shift.starts_at, { weekday: "short", day: "numeric", month: "short" }),
        start: format(shift.starts_at, { hour: "2-digit", minute: "2-digit" }),
        end: format(shift.ends_at, { hour: "2-digit", minute: "2-digit" }),
      });
      return el(
        "li",
        { class: current ? "shift shift-now" : past ? "shift shift-past" : "shift" },
        text,
        current ? ` ${t("console.shifts.now")}` : "",
      );
    }),
  );
  empty.textContent = t("console.shifts.empty");
  empty.hidden = shifts.length > 0;
}
