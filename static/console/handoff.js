// Transfer a chat to a colleague on duty, bring a colleague into it, and block a visitor
// (docs/protocol.md §4, chat:transfer, chat:invite and chat:block). The transfer dialog
// also serves invitations (mode "invite"); one dialog each, shared by all chats.

import { $, el } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";
import { languageName } from "./chats.js";

let transfer = null; // {mode, chatId, language, selfId, submit(toStaffId, note or role), returnFocus}
let roster = [];
let block = null; // {chatId, submit(), returnFocus}

function showError(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function renderTransfer() {
  if (!transfer) return;
  const chosen = $("transfer-options").querySelector("input:checked");
  const keep = chosen ? Number(chosen.value) : null;
  const others = roster.filter((m) => m.staff_id !== transfer.selfId && !transfer.exclude.includes(m.staff_id));
  let n = 0;
  $("transfer-options").replaceChildren(
    ...others.map((member) => {
      n += 1;
      const id = `transfer-${n}`;
      const speaks = !member.languages.length || member.languages.includes(transfer.language);
      const full = member.free <= 0;
      const languages = member.languages.length
        ? member.languages.map(languageName).join(", ")
        : t("console.transfer.any_language");
      const parts = [t("console.transfer.free", { free: member.free, max: member.max_chats }), languages];
      if (!speaks) parts.push(t("console.transfer.no_language", { language: languageName(transfer.language) }));
      return el(
        "div",
        { class: "topic" },
        el("input", {
          type: "radio",
          name: "transfer-to",
          id,
          value: String(member.staff_id),
          disabled: full || !speaks,
          checked: keep === member.staff_id && !full && speaks,
          "aria-describedby": `${id}-details`,
        }),
        el(
          "label",
          { for: id },
          el("span", { class: "canned-name", text: member.alias }),
          " ",
          el("span", { id: `${id}-details`, class: "muted", text: `(${parts.join(" · ")})` }),
        ),
      );
    }),
  );
  $("transfer-empty").hidden = others.length > 0;
  $("transfer-submit").disabled = !others.some((m) => m.free > 0);
}

export function setRoster(value) {
  roster = Array.isArray(value) ? value : [];
  renderTransfer();
}

export function openTransfer({
  chatId, alias, language, selfId, submit, mode = "transfer", listeners = false, exclude = [],
}) {
  const dialog = $("transfer-dialog");
  if (dialog.open) return;
  transfer = { mode, chatId, language, selfId, submit, exclude, returnFocus: document.activeElement };
  const invite = mode === "invite";
  $("transfer-title").textContent = t(invite ? "console.invite.title" : "console.transfer.title", { alias });
  $("transfer-submit").textContent = t(invite ? "console.invite.submit" : "console.transfer.submit");
  $("transfer-note-box").hidden = invite;
  $("invite-hint").hidden = !invite;
  // A listener in training only where the organisation allows it (staff:sync staff.training_listeners).
  $("invite-roles").hidden = !invite || !listeners;
  $("invite-as-responder").checked = true;
  showError("transfer-error", null);
  $("transfer-options").replaceChildren();
  $("transfer-note").value = "";
  renderTransfer();
  dialog.showModal();
  const first = $("transfer-options").querySelector("input:not([disabled])");
  (first || $("transfer-title")).focus();
}

export function openBlock({ chatId, alias, submit }) {
  const dialog = $("block-dialog");
  if (dialog.open) return;
  block = { chatId, submit, returnFocus: document.activeElement };
  $("block-title").textContent = t("console.block.title", { alias });
  $("block-intro").textContent = t("console.block.intro");
  showError("block-error", null);
  dialog.showModal();
  $("block-cancel").focus();
}

function restoreFocus(state) {
  const target = state && state.returnFocus;
  if (target && target.isConnected && typeof target.focus === "function") target.focus();
}

export function installHandoff() {
  $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
  $("transfer-dialog").addEventListener("close", () => {
    const state = transfer;
    transfer = null;
    restoreFocus(state);
  });
  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!transfer) return;
    const chosen = $("transfer-options").querySelector("input:checked");
    if (!chosen) return showError("transfer-error", t("console.transfer.error_choose"));
    $("transfer-submit").disabled = true;
    try {
      const second = transfer.mode === "invite";
      const role = $("invite-as-listener").checked && !$("invite-roles").hidden ? "listener" : "responder";
      const error = await transfer.submit(Number(chosen.value), second ? role : $("transfer-note").value.trim());
      if (error) showError("transfer-error", error);
      else $("transfer-dialog").close();
    } finally {
      renderTransfer();
    }
  });

  $("block-cancel").addEventListener("click", () => $("block-dialog").close());
  $("block-dialog").addEventListener("close", () => {
    const state = block;
    block = null;
    restoreFocus(state);
  });
  $("block-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!block) return;
    $("block-submit").disabled = true;
    try {
      const error = await block.submit();
      if (error) showError("block-error", error);
      else $("block-dialog").close();
    } finally {
      $("block-submit").disabled = false;
    }
  });
}

// A chat that disappears closes its dialogs.
export function closeHandoffFor(chatId) {
  if (transfer && transfer.chatId === chatId) $("transfer-dialog").close();
  if (block && block.chatId === chatId) $("block-dialog").close();
}
