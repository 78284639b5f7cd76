// Dates for the staff pages. A local date is a plain YYYY-MM-DD string;
// arithmetic on it is done at UTC noon, so no time zone (the browser's or the
// organisation's) can shift the day. Instants are shown in the organisation's
// time zone, which the server names (GET /api/status, GET /api/roster).

export function dateAt(day) {
  return new Date(`${day}T12:00:00Z`);
}

export function isDate(value) {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(dateAt(value).getTime());
}

export function addDays(day, n) {
  const d = dateAt(day);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// The date of a calendar day; a day or month out of range rolls over (day 0 is
// the last day of the month before).
export function dateOf(year, month, day) {
  return new Date(Date.UTC(year, month - 1, day, 12)).toISOString().slice(0, 10);
}

export function weekdayOf(day) {
  return (dateAt(day).getUTCDay() + 6) % 7; // 0 = Monday
}

export function mondayOf(day) {
  return addDays(day, -weekdayOf(day));
}

function zoneParts(date, timezone, options) {
  const out = {};
  for (const part of new Intl.DateTimeFormat("en-GB", { timeZone: timezone, ...options }).formatToParts(date)) {
    out[part.type] = part.value;
  }
  return out;
}

// The local date of an instant in `timezone`.
export function localDate(iso, timezone) {
  const p = zoneParts(new Date(iso), timezone, { year: "numeric", month: "2-digit", day: "2-digit" });
  return `${p.year}-${p.month}-${p.day}`;
}

// The local wall-clock time of an instant in `timezone`, as HH:MM.
export function localHHMM(iso, timezone) {
  const p = zoneParts(new Date(iso), timezone, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${p.hour}:${p.minute}`;
}

export function today(timezone) {
  return localDate(new Date().toISOString(), timezone);
}

export function dayText(day, locale, options = { weekday: "long", day: "numeric", month: "long" }) {
  return new Intl.DateTimeFormat(locale, { timeZone: "UTC", ...options }).format(dateAt(day));
}

// 0 = Monday; `style` as Intl's weekday option ("long", "short").
export function weekdayName(index, locale, style = "long") {
  return dayText(addDays("2024-01-01", index), locale, { weekday: style }); // 2024-01-01 was a Monday
}

// Headings start with a capital even where weekdays are lower case in running
// text (Finnish, Swedish).
export function capitalised(text, locale) {
  return text ? text.charAt(0).toLocaleUpperCase(locale) + text.slice(1) : text;
}
