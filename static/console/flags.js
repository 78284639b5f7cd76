// Flag a chat by category (docs/protocol.md §4, chat:flag) and the colleagues' alerts
// (chat:flagged). A flag is a category code, never text: the row counts it, the reports show it.

import { $, el } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";
import { languageName } from "./chats.js";

export const FLAG_CATEGORIES = [
  "violence_threat",
  "trafficking_suspected",
  "crisis_self_harm",
  "abusive_visitor",
  "other",
];

let flagging = null; // {submit(category), returnFocus}

export function flagLabel(category) {
  return FLAG_CATEGORIES.includes(category) ? t(`console.flag.category.${category}`) : category;
}

function showError(text) {
  $("flag-error").textContent = text || "";
  $("flag-error").hidden = !text;
}

export function openFlag({ alias, flags, submit }) {
  const dialog = $("flag-dialog");
  if (dialog.open) return;
  flagging = { submit, returnFocus: document.activeElement };
  $("flag-title").textContent = t("console.flag.title", { alias });
  showError(null);
  let n = 0;
  $("flag-options").replaceChildren(
    ...FLAG_CATEGORIES.map((category) => {
      n += 1;
      const id = `flag-${n}`;
      const done = flags.includes(category);
      return el(
        "div",
        { class: "topic" },
        el("input", { type: "radio", name: "flag-category", id, value: category, disabled: done }),
        el("label", { for: id, text: done ? t("console.flag.already", { label: flagLabel(category) }) : flagLabel(category) }),
      );
    }),
  );
  dialog.showModal();
  const first = $("flag-options").querySelector("input:not([disabled])");
  (first || $("flag-title")).focus();
}

// A colleague flagged a chat: a visible notice until dismissed, and an announcement.
export function showFlagged(alert, clock, announce) {
  const text = t("console.flag.alert", {
    from: alert.by.alias,
    label: flagLabel(alert.category),
    language: languageName(alert.language),
    time: clock(alert.flagged_at),
  });
  const item = el(
    "li",
    {},
    el("span", { text }),
    " ",
    el("button", {
      type: "button",
      class: "btn btn-plain",
      text: t("console.flag.dismiss"),
      onclick: () => {
        item.remove();
        $("flag-alerts").hidden = !$("flag-alerts-list").children.length;
      },
    }),
  );
  $("flag-alerts-list").append(item);
  $("flag-alerts").hidden = false;
  announce(text);
}

export function installFlags() {
  $("flag-cancel").addEventListener("click", () => $("flag-dialog").close());
  $("flag-dialog").addEventListener("close", () => {
    const state = flagging;
    flagging = null;
    const target = state && state.returnFocus;
    if (target && target.isConnected) target.focus();
  });
  $("flag-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!flagging) return;
    const chosen = $("flag-options").querySelector("input:checked");
    if (!chosen) return showError(t("console.flag.error_choose"));
    $("flag-submit").disabled = true;
    try {
      const error = await flagging.submit(chosen.value);
      if (error) showError(error);
      else $("flag-dialog").close();
    } finally {
      $("flag-submit").disabled = false;
    }
  });
}
