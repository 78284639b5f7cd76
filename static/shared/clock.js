// One clock for every page (docs/protocol.md, "Times on the pages"): hours and minutes as the
// page's language writes them, whatever region the browser adds (an en-US browser showed
// "10:44 PM" in the console next to the widget's 22:44). English is written as en-GB, the
// English of the organisation's region; all seven languages use the 24-hour clock.
// `timeZone` undefined: the device's zone.
export function clockLocale(locale) {
  const language = typeof locale === "string" ? locale.split("-")[0].toLowerCase() : "";
  return !language || language === "en" ? "en-GB" : language;
}

export function clockText(iso, locale, timeZone) {
  const date = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return clockFormat(locale, timeZone).format(date);
}

export function clockFormat(locale, timeZone, options = {}) {
  return new Intl.DateTimeFormat(clockLocale(locale), { hour: "2-digit", minute: "2-digit", timeZone, ...options });
}
