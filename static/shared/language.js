// The language of a staff page and the names of chat languages in it.

import { CATALOGUES, loadLanguage, pickLanguage } from "../i18n/i18n.js";

// Regional formats for the catalogues that need one to read naturally.
const LOCALES = { en: "en-GB", fi: "fi-FI", sv: "sv-SE" };

// Load the catalogue the page speaks (?lang= first, then the browser's
// languages) and answer its code.
export function loadPageLanguage() {
  const asked = new URLSearchParams(window.location.search).get("lang");
  const wanted = asked ? [asked] : [...(navigator.languages || [navigator.language])];
  return loadLanguage(pickLanguage(wanted, CATALOGUES));
}

// The locale for numbers and dates in catalogue `lang`.
export function localeOf(lang) {
  return LOCALES[lang] || lang;
}

// A language code ("fi") as its name in `locale` ("suomi"), or the code itself.
export function languageName(code, locale) {
  try {
    return new Intl.DisplayNames([locale], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}
