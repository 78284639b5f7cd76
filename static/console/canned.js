// Canned responses (docs/protocol.md §8): a picker that puts a response's text
// into the reply box for editing, and a small editor for managers.

import { $, el } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";
import * as http from "../shared/api.js";
import { languageName } from "./chats.js";

let picking = null; // {language, insert(text), returnFocus}
let items = []; // CannedResponse[] of the picker's language

async function load(language) {
  const result = await http.cannedResponses(language);
  return result.ok && Array.isArray(result.data.canned_responses) ? result.data.canned_responses : null;
}

// ------------------------------------------------------------ picker

function renderPicker() {
  const query = $("canned-search").value.trim().toLowerCase();
  const shown = items.filter(
    (c) => !query || c.title.toLowerCase().includes(query) || c.body.toLowerCase().includes(query),
  );
  $("canned-list").replaceChildren(
    ...shown.map((c) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "canned-item", onclick: () => choose(c) },
          el("span", { class: "canned-name", text: c.title }),
          " ",
          el("span", { class: "canned-preview", text: c.body }),
        ),
      ),
    ),
  );
  const empty = $("canned-empty");
  empty.hidden = shown.length > 0;
  empty.textContent = items.length
    ? t("console.canned.no_match")
    : t("console.canned.none", { language: languageName(picking ? picking.language : "") });
}

function choose(canned) {
  const target = picking;
  picking = null;
  $("canned-dialog").close();
  if (target) target.insert(canned.body);
}

// Up and down arrows move between the search field and the responses.
function onPickerKey(event) {
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  const stops = [$("canned-search"), ...$("canned-list").querySelectorAll("button")];
  const index = stops.indexOf(document.activeElement);
  if (index < 0) return;
  event.preventDefault();
  const next = event.key === "ArrowDown" ? Math.min(index + 1, stops.length - 1) : Math.max(index - 1, 0);
  stops[next].focus();
}

// insert(text) puts the text into the composer and focuses it.
export async function openPicker({ language, insert }) {
  const dialog = $("canned-dialog");
  if (dialog.open) return;
  picking = { language, insert, returnFocus: document.activeElement };
  items = [];
  $("canned-search").value = "";
  $("canned-empty").hidden = false;
  $("canned-empty").textContent = t("console.canned.loading");
  $("canned-list").replaceChildren();
  dialog.showModal();
  $("canned-search").focus();
  const loaded = await load(language);
  if (!picking) return;
  if (loaded === null) {
    $("canned-empty").textContent = t("console.canned.load_error");
    return;
  }
  items = loaded;
  renderPicker();
}

// ------------------------------------------------------------ managers

let offered = [];
let editing = null; // id or null for a new one

function formError(text) {
  $("canned-form-error").textContent = text || "";
  $("canned-form-error").hidden = !text;
}

function edit(canned) {
  editing = canned ? canned.id : null;
  $("canned-form-title").textContent = canned
    ? t("console.canned.edit_title", { title: canned.title })
    : t("console.canned.new_title");
  $("canned-form-language").value = canned ? canned.language : $("canned-manage-language").value;
  $("canned-form-name").value = canned ? canned.title : "";
  $("canned-form-body").value = canned ? canned.body : "";
  formError(null);
}

async function refreshManager() {
  const language = $("canned-manage-language").value;
  const loaded = await load(language);
  const list = loaded || [];
  $("canned-manage-empty").hidden = list.length > 0;
  if (loaded === null) {
    $("canned-manage-empty").hidden = false;
    $("canned-manage-empty").textContent = t("console.canned.load_error");
  } else {
    $("canned-manage-empty").textContent = t("console.canned.none_language");
  }
  $("canned-manage-list").replaceChildren(
    ...list.map((c) =>
      el(
        "li",
        { class: "canned-row" },
        el("span", { class: "canned-name", text: c.title }),
        el(
          "span",
          { class: "actions" },
          el("button", {
            type: "button",
            class: "btn btn-secondary",
            text: t("console.canned.edit"),
            "aria-label": t("console.canned.edit_named", { title: c.title }),
            onclick: () => {
              edit(c);
              $("canned-form-name").focus();
            },
          }),
          el("button", {
            type: "button",
            class: "btn btn-danger",
            text: t("console.canned.delete"),
            "aria-label": t("console.canned.delete_named", { title: c.title }),
            onclick: () => remove(c),
          }),
        ),
      ),
    ),
  );
}

async function remove(canned) {
  const result = await http.deleteCanned(canned.id);
  if (!result.ok && result.status !== 404) return formError(t("console.canned.error_other", { code: result.error.code }));
  if (editing === canned.id) edit(null);
  $("canned-manage-status").textContent = t("console.canned.deleted", { title: canned.title });
  await refreshManager();
  $("canned-manage-language").focus();
}

async function save(event) {
  event.preventDefault();
  const body = {
    language: $("canned-form-language").value,
    title: $("canned-form-name").value.trim(),
    body: $("canned-form-body").value.trim(),
  };
  if (!body.title || !body.body) return formError(t("console.canned.error_required"));
  $("canned-form-save").disabled = true;
  try {
    const result = editing === null ? await http.createCanned(body) : await http.changeCanned(editing, body);
    if (!result.ok) {
      const code = result.error.code;
      return formError(
        code === "invalid_request"
          ? t("console.canned.error_invalid")
          : code === "forbidden"
            ? t("console.canned.error_forbidden")
            : t("console.canned.error_other", { code }),
      );
    }
    $("canned-manage-status").textContent = t("console.canned.saved", { title: body.title });
    $("canned-manage-language").value = body.language;
    edit(null);
    await refreshManager();
  } finally {
    $("canned-form-save").disabled = false;
  }
}

export function setOfferedLanguages(languages) {
  offered = languages;
  for (const id of ["canned-manage-language", "canned-form-language"]) {
    $(id).replaceChildren(...offered.map((code) => el("option", { value: code, text: languageName(code) })));
  }
}

async function openManager() {
  const dialog = $("canned-manage");
  if (dialog.open) return;
  edit(null);
  dialog.showModal();
  $("canned-manage-language").focus();
  await refreshManager();
}

export function installCanned() {
  $("canned-search").addEventListener("input", renderPicker);
  $("canned-dialog").addEventListener("keydown", onPickerKey);
  $("canned-cancel").addEventListener("click", () => $("canned-dialog").close());
  $("canned-dialog").addEventListener("close", () => {
    const target = picking;
    picking = null;
    if (target && target.returnFocus && target.returnFocus.isConnected) target.returnFocus.focus();
  });
  $("canned-manage-open").addEventListener("click", openManager);
  $("canned-manage-close").addEventListener("click", () => $("canned-manage").close());
  $("canned-manage").addEventListener("close", () => $("canned-manage-open").focus());
  $("canned-manage-language").addEventListener("change", refreshManager);
  $("canned-form-new").addEventListener("click", () => {
    edit(null);
    $("canned-form-name").focus();
  });
  $("canned-form").addEventListener("submit", save);
}

export function closeCanned() {
  for (const id of ["canned-dialog", "canned-manage"]) if ($(id).open) $(id).close();
}
