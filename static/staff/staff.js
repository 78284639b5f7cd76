// Staff administration page (docs/protocol.md §8), for managers and admins:
// the members, an add form, a dialog to change a member, disable/enable and
// password resets that show a one-time password once. Every change goes to the
// server and the list is loaded again, so the page shows only what the server
// confirmed.

import { t, translateDom } from "../i18n/i18n.js";
import { api, me as fetchMe, status as fetchStatus } from "../shared/api.js";
import { $, el } from "../shared/dom.js";
import { languageName as nameOf, loadPageLanguage, localeOf } from "../shared/language.js";
import { mountNav } from "../shared/nav.js";
import * as page from "../shared/page.js";
import { confirmAction, copyField, showError } from "../shared/page.js";
import { announce as announceIn } from "../shared/status.js";

const ROLES = ["staff", "manager", "admin", "peer"];
const VIEWS = ["loading", "signed-out", "forbidden", "staff-view"];
const ERRORS = {
  codes: {
    conflict: "staff.error.username_taken",
    weak_password: "staff.error.weak_password",
    own_account: "staff.error.own_account",
    last_admin: "staff.error.last_admin",
    forbidden: "staff.error.forbidden",
    not_found: "staff.error.not_found",
    unauthenticated: "staff.error.unauthenticated",
    origin_not_allowed: "staff.error.origin",
    network: "staff.error.network",
  },
  invalid: "staff.error.invalid",
  other: "staff.error.other",
};

const state = {
  me: null,
  offered: [],
  locale: "en-GB",
  staff: [],
  editing: null, // the StaffEntry in the edit dialog
};

// ------------------------------------------------------------ text

function languageName(code) {
  return nameOf(code, state.locale);
}

function roleName(role) {
  return t(`staff.role.${role}`);
}

function personName(member) {
  return member.display_name && member.display_name !== member.username
    ? t("staff.person", { name: member.display_name, username: member.username })
    : member.username;
}

function announce(text) {
  announceIn($("status"), text);
}

function errorText(error) {
  return page.errorText(error, ERRORS);
}

// ------------------------------------------------------------ form parts

// Roles the signed-in member may give: only admins grant admin.
function grantableRoles() {
  return state.me.role === "admin" ? ROLES : ROLES.filter((role) => role !== "admin");
}

function fillRoles(select, current) {
  const roles = grantableRoles();
  // An admin shown to a manager keeps its role visible (the dialog is read-only then).
  const shown = roles.includes(current) || !current ? roles : [...roles, current];
  select.replaceChildren(
    ...shown.map((role) => el("option", { value: role, selected: role === current, text: roleName(role) })),
  );
  select.value = current || "staff";
}

function fillLanguages(fieldset, prefix, chosen) {
  const legend = fieldset.querySelector("legend");
  fieldset.replaceChildren(
    legend,
    ...state.offered.map((code) =>
      el(
        "label",
        { class: "check" },
        el("input", { type: "checkbox", name: "languages", value: code, id: `${prefix}-lang-${code}`, checked: chosen.includes(code) }),
        languageName(code),
      ),
    ),
  );
}

function chosenLanguages(fieldset) {
  return [...fieldset.querySelectorAll("input[name=languages]:checked")].map((box) => box.value);
}

// A whole number from the field, or null when empty; NaN when not a number.
function numberField(input) {
  const text = input.value.trim();
  if (!text) return null;
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

// ------------------------------------------------------------ members table

function stateCell(member) {
  return member.disabled
    ? el("span", { class: "badge-tag tag-disabled", text: t("staff.state.disabled") })
    : el("span", { class: "badge-tag tag-active", text: t("staff.state.active") });
}

// Whether the signed-in member may change this account at all.
function mayChange(member) {
  return member.role !== "admin" || state.me.role === "admin";
}

function rowActions(member) {
  const name = member.username;
  const self = member.id === state.me.id;
  const buttons = [];
  if (!mayChange(member)) {
    return el("td", {}, el("span", { class: "muted", text: t("staff.actions.admin_only") }));
  }
  buttons.push(
    el("button", {
      type: "button",
      class: "btn btn-secondary btn-small",
      dataset: { action: "edit", id: String(member.id) },
      "aria-label": t("staff.actions.edit_label", { name }),
      text: t("staff.actions.edit"),
      onclick: (event) => openEdit(member, event.currentTarget),
    }),
  );
  if (!self) {
    buttons.push(
      el("button", {
        type: "button",
        class: "btn btn-secondary btn-small",
        dataset: { action: "password", id: String(member.id) },
        "aria-label": t("staff.actions.reset_label", { name }),
        text: t("staff.actions.reset"),
        onclick: () => resetPassword(member),
      }),
    );
    buttons.push(
      member.disabled
        ? el("button", {
            type: "button",
            class: "btn btn-secondary btn-small",
            dataset: { action: "enable", id: String(member.id) },
            "aria-label": t("staff.actions.enable_label", { name }),
            text: t("staff.actions.enable"),
            onclick: () => setDisabled(member, false),
          })
        : el("button", {
            type: "button",
            class: "btn btn-danger btn-small",
            dataset: { action: "disable", id: String(member.id) },
            "aria-label": t("staff.actions.disable_label", { name }),
            text: t("staff.actions.disable"),
            onclick: () => setDisabled(member, true),
          }),
    );
  }
  return el("td", {}, el("div", { class: "row-actions" }, ...buttons));
}

function renderMembers() {
  $("member-rows").replaceChildren(
    ...state.staff.map((member) =>
      el(
        "tr",
        { id: `member-${member.id}`, class: member.disabled ? "member-disabled" : null },
        el(
          "th",
          { scope: "row" },
          personName(member),
          member.id === state.me.id ? el("span", { class: "muted", text: ` ${t("staff.you")}` }) : null,
        ),
        // data-label: the column name, shown beside each cell where the table is stacked (narrow screens).
        el("td", { "data-label": t("staff.col.alias"), text: member.alias }),
        el("td", { "data-label": t("staff.col.role"), text: roleName(member.role) }),
        el("td", {
          "data-label": t("staff.col.languages"),
          text: member.languages.length ? member.languages.map(languageName).join(", ") : t("staff.languages.none"),
        }),
        el("td", { "data-label": t("staff.col.max_chats"), class: "num", text: String(member.max_chats) }),
        el("td", { "data-label": t("staff.col.state") }, stateCell(member)),
        rowActions(member),
      ),
    ),
  );
}

async function reload() {
  const result = await api("GET", "/api/staff");
  if (!result.ok) {
    if (result.status === 401) return showSignedOut();
    if (result.status === 403) return showForbidden();
    showError($("error"), errorText(result.error));
    return;
  }
  state.staff = result.data.staff;
  renderMembers();
}

// Focus a button of a member's row after the list was drawn again, or the
// list heading when that button is gone.
function focusRow(id, action) {
  const button = document.querySelector(`#member-${id} button[data-action="${action}"]`)
    || document.querySelector(`#member-${id} button`);
  (button || $("members-title")).focus();
}

// Run one change; on success reload and answer the reply's data (null when refused).
async function change(run, errorNode) {
  const result = await page.runChange(run, {
    start: () => {
      showError(errorNode, null);
      showError($("error"), null);
    },
    refused: async ({ error, status }) => {
      showError(errorNode, errorText(error));
      if (status === 401) showSignedOut();
      else if (status === 403 && error.code === "forbidden") await reload();
    },
    done: () => reload(),
  });
  return result && result.ok ? result.data : null;
}

// ------------------------------------------------------------ dialogs

function showPassword(member, password, after) {
  const dialog = $("password-dialog");
  $("password-text").textContent = t("staff.password.text", { name: member.username });
  $("password-value").value = password;
  $("password-copied").textContent = "";
  dialog.addEventListener(
    "close",
    () => {
      // The password is not kept anywhere once the dialog is closed.
      $("password-value").value = "";
      after();
    },
    { once: true },
  );
  dialog.showModal();
  $("password-value").focus();
  $("password-value").select();
}

async function copyPassword() {
  const copied = await copyField($("password-value"));
  $("password-copied").textContent = t(copied ? "staff.password.copied" : "staff.password.copy_failed");
}

function openEdit(member, opener) {
  state.editing = member;
  const dialog = $("edit-dialog");
  $("edit-title").textContent = t("staff.edit.title", { name: member.username });
  $("edit-display-name").value = member.display_name === member.username ? "" : member.display_name;
  $("edit-alias").value = member.alias;
  fillRoles($("edit-role"), member.role);
  // Nobody changes their own role.
  $("edit-role").disabled = member.id === state.me.id;
  fillLanguages($("edit-languages"), "edit", member.languages);
  $("edit-max-chats").value = String(member.max_chats);
  showError($("edit-error"), null);
  dialog.addEventListener(
    "close",
    () => {
      state.editing = null;
      if (opener && opener.isConnected) opener.focus();
      else focusRow(member.id, "edit");
    },
    { once: true },
  );
  dialog.showModal();
  $("edit-alias").focus();
}

async function onEditSubmit(event) {
  event.preventDefault();
  const member = state.editing;
  if (!member) return;
  const errorNode = $("edit-error");
  const maxChats = numberField($("edit-max-chats"));
  if (!$("edit-alias").value.trim()) {
    showError(errorNode, t("staff.error.alias_required"));
    return $("edit-alias").focus();
  }
  if (maxChats === null || !Number.isInteger(maxChats) || maxChats < 1 || maxChats > 50) {
    showError(errorNode, t("staff.error.max_chats"));
    return $("edit-max-chats").focus();
  }
  const body = {
    display_name: $("edit-display-name").value.trim(),
    alias: $("edit-alias").value.trim(),
    languages: chosenLanguages($("edit-languages")),
    max_chats: maxChats,
  };
  if (!$("edit-role").disabled) body.role = $("edit-role").value;
  const data = await change(() => api("PATCH", `/api/staff/${member.id}`, body), errorNode);
  if (!data) return;
  $("edit-dialog").close();
  announce(t("staff.done.changed", { name: member.username }));
}

// ------------------------------------------------------------ actions

async function setDisabled(member, disabled) {
  const name = member.username;
  // Cancelled: the dialog has put focus back on the button.
  if (disabled && !(await confirmAction(t("staff.confirm.disable", { name }), t("staff.actions.disable")))) return;
  const action = disabled ? "disable" : "enable";
  const data = await change(() => api("POST", `/api/staff/${member.id}/${action}`), $("error"));
  if (data) announce(t(disabled ? "staff.done.disabled" : "staff.done.enabled", { name }));
  focusRow(member.id, disabled ? "enable" : "disable");
}

async function resetPassword(member) {
  const name = member.username;
  if (!(await confirmAction(t("staff.confirm.reset", { name }), t("staff.actions.reset")))) return;
  const data = await change(() => api("POST", `/api/staff/${member.id}/password`), $("error"));
  if (!data) return focusRow(member.id, "password");
  announce(t("staff.done.reset", { name }));
  showPassword(data.staff, data.password, () => focusRow(member.id, "password"));
}

function resetAddForm() {
  $("add-form").reset();
  fillRoles($("add-role"), "staff");
  fillLanguages($("add-languages"), "add", []);
}

async function onAddSubmit(event) {
  event.preventDefault();
  const errorNode = $("add-error");
  const username = $("add-username").value.trim();
  const alias = $("add-alias").value.trim();
  const password = $("add-password").value;
  const maxChats = numberField($("add-max-chats"));
  const invalid = (key, field) => {
    showError(errorNode, t(key));
    field.focus();
  };
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(username)) return invalid("staff.error.username", $("add-username"));
  if (!alias) return invalid("staff.error.alias_required", $("add-alias"));
  if (maxChats !== null && (!Number.isInteger(maxChats) || maxChats < 1 || maxChats > 50)) {
    return invalid("staff.error.max_chats", $("add-max-chats"));
  }
  if (password && password.length < 10) return invalid("staff.error.weak_password", $("add-password"));
  const body = {
    username,
    alias,
    display_name: $("add-display-name").value.trim(),
    role: $("add-role").value,
    languages: chosenLanguages($("add-languages")),
  };
  if (maxChats !== null) body.max_chats = maxChats;
  if (password) body.password = password;
  const button = $("add-submit");
  button.disabled = true;
  try {
    const data = await change(() => api("POST", "/api/staff", body), errorNode);
    if (!data) return $("add-username").focus();
    resetAddForm();
    announce(t("staff.done.added", { name: data.staff.username }));
    if (data.password) showPassword(data.staff, data.password, () => $("add-username").focus());
    else $("add-username").focus();
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------ sign-in state

function showOnly(id) {
  page.showOnly(VIEWS, id);
}

function showSignedOut() {
  page.showSignedOut(VIEWS);
}

function showForbidden() {
  showOnly("forbidden");
}

// ------------------------------------------------------------ boot

async function boot() {
  state.locale = localeOf(await loadPageLanguage());
  translateDom();
  document.title = t("staff.title");

  const session = await fetchMe();
  if (!session.ok) {
    if (session.status === 401) return showSignedOut();
    $("loading").hidden = true;
    return showError($("error"), errorText(session.error));
  }
  state.me = session.data.staff;
  mountNav($("site-nav"), state.me.role, "/staff/");
  $("whoami").textContent = t("staff.signed_in_as", { alias: state.me.alias, name: state.me.display_name || state.me.username });
  if (!page.isManager(state.me.role)) return showForbidden();

  const status = await fetchStatus();
  if (status.ok && Array.isArray(status.data.languages)) state.offered = status.data.languages;

  resetAddForm();
  $("add-form").addEventListener("submit", onAddSubmit);
  $("edit-form").addEventListener("submit", onEditSubmit);
  $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
  $("password-copy").addEventListener("click", copyPassword);
  $("password-done").addEventListener("click", () => $("password-dialog").close());

  await reload();
  if ($("forbidden").hidden && $("signed-out").hidden) showOnly("staff-view");
}

boot();
