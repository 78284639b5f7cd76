// Translation catalogues: flat {key: string} JSON files, one per language,
// with identical key sets. Strings may contain {name} placeholders.

// Names of the languages in their own language, for the language switch:
// someone who cannot read the current UI language must still find their own.
export const LANGUAGE_NAMES = {
  fi: "suomi",
  sv: "svenska",
  en: "English",
  ru: "русский",
  th: "ไทย",
  es: "español",
  et: "eesti",
};
export const CATALOGUES = Object.keys(LANGUAGE_NAMES);
export const FALLBACK = "en";

// The usual region for each catalogue when the browser names none (the
// service is Finnish, hence sv-FI and en-GB).
const DEFAULT_LOCALES = { fi: "fi-FI", sv: "sv-FI", en: "en-GB", ru: "ru-RU", th: "th-TH", es: "es-ES", et: "et-EE" };

// A full locale for Intl date and number formats: the visitor's own tag for
// this language if the browser has one (es-MX stays es-MX), else the usual one.
export function localeFor(lang, wanted = navigator.languages || [navigator.language]) {
  for (const tag of wanted) {
    if (typeof tag !== "string" || tag.toLowerCase().split("-")[0] !== lang || !tag.includes("-")) continue;
    try {
      return Intl.getCanonicalLocales(tag)[0];
    } catch {
      /* not a valid tag: try the next */
    }
  }
  return DEFAULT_LOCALES[lang] || lang;
}

let strings = {};
let current = FALLBACK;

export function language() {
  return current;
}

// part "widget": only the widget's strings (served by the server from the same catalogue).
export async function loadLanguage(lang, part = "") {
  if (!CATALOGUES.includes(lang)) lang = FALLBACK;
  const path = part ? `/static/i18n/${part}/${lang}.json` : `/static/i18n/${lang}.json`;
  const response = await fetch(path, { credentials: "omit" });
  if (!response.ok) throw new Error(`catalogue ${lang}: HTTP ${response.status}`);
  strings = await response.json();
  current = lang;
  document.documentElement.lang = lang;
  return lang;
}

export function t(key, params = {}) {
  const template = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match,
  );
}

// Static markup names its strings with data-i18n (text) and
// data-i18n-<attribute> (e.g. data-i18n-aria-label, data-i18n-placeholder),
// so switching language is one pass over the document.
export function translateDom(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("*")) {
    for (const attr of node.getAttributeNames()) {
      if (attr.startsWith("data-i18n-")) node.setAttribute(attr.slice("data-i18n-".length), t(node.getAttribute(attr)));
    }
  }
}

// First of `wanted` (e.g. ["fi-FI", "sv"]) whose primary subtag is offered.
export function pickLanguage(wanted, offered) {
  for (const tag of wanted) {
    if (typeof tag !== "string") continue;
    const primary = tag.toLowerCase().split("-")[0];
    if (offered.includes(primary)) return primary;
  }
  return offered.includes(FALLBACK) ? FALLBACK : offered[0] || FALLBACK;
}
