// Safety text page (docs/protocol.md §11), for managers and admins: one card
// per offered language with the text, Save, Remove, and the text as visitors
// see it (the server's segments, placed as text). The server checks the text;
// a refused one keeps the manager's words in the box, with the reason.

import { t, translateDom } from "../i18n/i18n.js";
import { api, me as fetchMe, status as fetchStatus } from "../shared/api.js";
import { $, el } from "../shared/dom.js";
import { languageName, loadPageLanguage, localeOf } from "../shared/language.js";
import { mountNav } from "../shared/nav.js";
import * as page from "../shared/page.js";
import { confirmAction, showError } from "../shared/page.js";
import { fetchSafetyTexts, renderSafetyText } from "../shared/safety-text.js";
import { announce as announceIn } from "../shared/status.js";

// The server's limit (chat_server/safety_text.py); it checks again after normalising.
const MAX_LENGTH = 1000;
const VIEWS = ["loading", "signed-out", "forbidden", "safety-view"];
const ERRORS = {
  codes: {
    markup_not_allowed: "safety.error.markup",
    link_not_allowed: "safety.error.link",
    invalid_phone_number: "safety.error.phone",
    forbidden: "staff.error.forbidden",
    not_found: "safety.error.not_found",
    unauthenticated: "staff.error.unauthenticated",
    origin_not_allowed: "safety.error.origin",
    csrf_failed: "safety.error.csrf",
    network: "staff.error.network",
  },
  invalid: "staff.error.invalid",
  other: "staff.error.other",
};

const state = { locale: "en-GB", offered: [], hosts: [], texts: {}, cards: new Map() };

function nameOf(code) {
  return languageName(code, state.locale);
}

function renderCard(language) {
  const card = state.cards.get(language);
  const text = state.texts[language];
  card.preview.hidden = !text;
  card.previewTitle.hidden = !text;
  card.empty.hidden = Boolean(text);
  card.remove.disabled = !text;
  if (text) renderSafetyText(card.preview, text.segments);
}

function buildCard(language) {
  const name = nameOf(language);
  const id = `text-${language}`;
  const textarea = el("textarea", {
    id,
    name: "body",
    rows: "6",
    maxlength: String(MAX_LENGTH),
    lang: language,
    "aria-describedby": `rules error-${language}`,
  });
  const error = el("p", { id: `error-${language}`, class: "form-error", role: "alert", hidden: true });
  const remove = el("button", { type: "button", class: "btn btn-secondary", text: t("safety.remove") });
  const save = el("button", { type: "submit", class: "btn btn-primary", text: t("safety.save") });
  const previewTitle = el("h3", { class: "safety-preview-title", text: t("safety.preview") });
  const preview = el("p", { class: "safety-preview", lang: language });
  const empty = el("p", { class: "muted", text: t("safety.empty") });
  const form = el(
    "form",
    { class: "safety-form", novalidate: true, "aria-labelledby": `title-${language}` },
    el("label", { class: "field", for: id }, el("span", { text: t("safety.field", { language: name }) })),
    textarea,
    error,
    el("div", { class: "actions" }, save, remove),
  );
  const section = el(
    "section",
    { class: "card", "aria-labelledby": `title-${language}` },
    el("h2", { id: `title-${language}`, text: name }),
    form,
    empty,
    previewTitle,
    preview,
  );
  const card = { section, textarea, error, remove, preview, previewTitle, empty };
  state.cards.set(language, card);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save_(language);
  });
  remove.addEventListener("click", () => remove_(language));
  textarea.value = state.texts[language] ? state.texts[language].body : "";
  return section;
}

async function save_(language) {
  const card = state.cards.get(language);
  await page.runChange(() => api("PUT", `/api/safety-text/${language}`, { body: card.textarea.value }), {
    start: () => showError(card.error, ""),
    refused: (result) => {
      showError(card.error, page.errorText(result.error, ERRORS));
      card.textarea.focus();
    },
    done: (result) => {
      state.texts[language] = result.data.safety_text;
      card.textarea.value = result.data.safety_text.body;
      renderCard(language);
      announceIn($("status"), t("safety.saved", { language: nameOf(language) }));
    },
  });
}

async function remove_(language) {
  const card = state.cards.get(language);
  const name = nameOf(language);
  if (!(await confirmAction(t("safety.confirm_remove", { language: name }), t("safety.remove")))) return;
  await page.runChange(() => api("DELETE", `/api/safety-text/${language}`), {
    start: () => showError(card.error, ""),
    refused: (result) => showError(card.error, page.errorText(result.error, ERRORS)),
    done: () => {
      delete state.texts[language];
      card.textarea.value = "";
      renderCard(language);
      card.textarea.focus();
      announceIn($("status"), t("safety.removed", { language: name }));
    },
  });
}

async function boot() {
  state.locale = localeOf(await loadPageLanguage());
  translateDom();
  document.title = t("safety.title");

  const session = await fetchMe();
  if (!session.ok) {
    if (session.status === 401) return page.showSignedOut(VIEWS);
    $("loading").hidden = true;
    return showError($("error"), page.errorText(session.error, ERRORS));
  }
  const me = session.data.staff;
  mountNav($("site-nav"), me.role, "/safety/");
  $("whoami").textContent = t("staff.signed_in_as", { alias: me.alias, name: me.display_name || me.username });
  if (!page.isManager(me.role)) return page.showOnly(VIEWS, "forbidden");

  // Fresh: the browser may keep the public answer for a minute, and this page must show what is stored.
  const [status, texts] = await Promise.all([fetchStatus(), fetchSafetyTexts({ fresh: true })]);
  if (status.ok) {
    state.offered = status.data.languages || [];
    state.hosts = status.data.link_allowlist || [];
  }
  if (!texts) {
    $("loading").hidden = true;
    return showError($("error"), page.errorText({ code: "network" }, ERRORS));
  }
  state.texts = texts;
  $("rules").textContent = t("safety.rules", { hosts: state.hosts.join(", "), max: String(MAX_LENGTH) });
  $("languages").replaceChildren(...state.offered.map(buildCard));
  for (const language of state.offered) renderCard(language);
  page.showOnly(VIEWS, "safety-view");
}

boot();
