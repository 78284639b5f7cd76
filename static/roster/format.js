// Roster text: times in the organisation's time zone, days, languages, people.

import { t } from "../i18n/i18n.js";
import { clockText } from "../shared/clock.js";
import * as dates from "../shared/dates.js";
import { languageName as nameOf } from "../shared/language.js";
import { context } from "./context.js";

export const localDate = (iso) => dates.localDate(iso, context.timezone);
export const localHHMM = (iso) => dates.localHHMM(iso, context.timezone);
export const today = () => dates.today(context.timezone);
export const dayText = (day, options) => dates.dayText(day, context.locale, options);
export const weekdayName = (index) => dates.weekdayName(index, context.locale);
export const capitalised = (text) => dates.capitalised(text, context.locale);
export const languageName = (code) => nameOf(code, context.locale);

function timeText(iso) {
  return clockText(iso, context.locale, context.timezone);
}

export function rangeText(startsAt, endsAt) {
  const text = `${timeText(startsAt)}–${timeText(endsAt)}`;
  const nextDay = localDate(endsAt) !== localDate(startsAt) && localHHMM(endsAt) !== "00:00";
  return nextDay ? `${text} ${t("roster.time.next_day")}` : text;
}

export function languagesText(codes) {
  return codes && codes.length ? codes.map(languageName).join(", ") : t("roster.languages.any");
}

export function personText(person) {
  return person.display_name ? t("roster.person", { alias: person.alias, name: person.display_name }) : person.alias;
}
