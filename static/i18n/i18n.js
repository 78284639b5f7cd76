// Translation catalogues: flat {key: string} JSON files, one per language,
// with identical key sets. Strings may contain {name} placeholders and counts
// in ICU MessageFormat's plural form (formatMessage).

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
  return formatMessage(template, params, current);
}

const own = (object, name) => Object.prototype.hasOwnProperty.call(object, name);

// A catalogue string with its {name} placeholders filled in. A count takes the
// form of ICU MessageFormat's plural, "{n, plural, one {# place open} other {#
// places open}}": the language's own categories (Intl.PluralRules: Russian has
// one, few, many and other; Thai only other), "=0" for an exact number, "#" for
// the number. Placeholders may appear inside the forms.
export function formatMessage(template, params = {}, lang = current) {
  let out = "";
  let at = 0;
  const start = /\{(\w+),\s*plural,/g;
  for (let match = start.exec(template); match; match = start.exec(template)) {
    const parsed = pluralForms(template, start.lastIndex);
    if (!parsed) break; // not a plural after all: leave the rest as it is
    out += template.slice(at, match.index);
    const name = match[1];
    const value = Number(own(params, name) ? params[name] : NaN);
    let form = parsed.forms.get(`=${value}`);
    if (form === undefined && Number.isFinite(value)) form = parsed.forms.get(new Intl.PluralRules(lang).select(value));
    if (form === undefined) form = parsed.forms.get("other") || "";
    out += form.replace(/#/g, Number.isFinite(value) ? value.toLocaleString(lang) : String(params[name]));
    at = parsed.end;
    start.lastIndex = parsed.end;
  }
  out += template.slice(at);
  return out.replace(/\{(\w+)\}/g, (match, name) => (own(params, name) ? String(params[name]) : match));
}

// The forms of a plural from `from` (just after "plural,") to its closing brace.
function pluralForms(text, from) {
  const forms = new Map();
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i += 1;
    if (text[i] === "}") return forms.has("other") ? { forms, end: i + 1 } : null;
    const selector = /^(=\d+|zero|one|two|few|many|other)\s*\{/.exec(text.slice(i));
    if (!selector) return null;
    i += selector[0].length;
    let depth = 1;
    const begin = i;
    for (; i < text.length && depth; i += 1) {
      if (text[i] === "{") depth += 1;
      else if (text[i] === "}") depth -= 1;
    }
    if (depth) return null;
    forms.set(selector[1], text.slice(begin, i - 1));
  }
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
