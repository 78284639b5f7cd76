// "My shifts this week" from GET /api/roster/mine (docs/protocol.md §7).

import { $, el } from "../shared/dom.js";
import { language, localeFor, t } from "../i18n/i18n.js";
import * as http from "../shared/api.js";
import { clockFormat, clockLocale } from "../shared/clock.js";

// Duty times are the organisation's (like the roster): its zone once GET /api/status named it.
let zone;

export function setShiftsZone(timezone) {
  zone = timezone;
}

function format(iso, options) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(clockLocale(localeFor(language())), { timeZone: zone, ...options }).format(date);
}

function clock(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : clockFormat(localeFor(language()), zone).format(date);
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
        start: clock(shift.starts_at),
        end: clock(shift.ends_at),
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
