// The "end chat" dialog: pick 1–10 topics from GET /api/topics, then the
// caller emits chat:end. One <dialog> is shared by all chats.

import { $, el } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";

const MAX_TOPICS = 10;

let taxonomy = null; // {groups: [...]}
let current = null; // {chatId, submit, returnFocus}

export function setTaxonomy(value) {
  taxonomy = value && Array.isArray(value.groups) ? value : { groups: [] };
}

function buildGroups() {
  let n = 0;
  const groups = taxonomy ? taxonomy.groups : [];
  $("topic-groups").replaceChildren(
    ...groups.map((group) =>
      el(
        "fieldset",
        { class: "topic-group" },
        el("legend", { text: group.label }),
        ...(group.topics || []).map((topic) => {
          n += 1;
          const id = `topic-${n}`;
          return el(
            "div",
            { class: "topic" },
            el("input", { type: "checkbox", id, name: "topic", value: topic.code }),
            el("label", { for: id, text: topic.label }),
          );
        }),
      ),
    ),
  );
  if (!groups.length) $("topic-groups").append(el("p", { text: t("console.end.no_topics") }));
}

function showError(text) {
  $("end-error").textContent = text || "";
  $("end-error").hidden = !text;
}

export function isOpen() {
  return $("end-dialog").open;
}

// submit(topics) resolves to an error message, or null when done.
// unsolicited: opened by the server (visitor left), not by a click — focus
// goes to the heading so that keys meant for the composer (a space!) do not
// tick a checkbox by accident.
// noConversation: the visitor wrote nothing, so the chat may close without a topic (docs/protocol.md chat:end).
export function openEndDialog({ chatId, alias, ended, submit, unsolicited = false, noConversation = false }) {
  const dialog = $("end-dialog");
  if (dialog.open) return false;
  current = { chatId, submit, returnFocus: document.activeElement };
  $("end-none").hidden = !noConversation;
  buildGroups();
  showError(null);
  $("end-title").textContent = ended ? t("console.end.title_ended", { alias }) : t("console.end.title", { alias });
  $("end-submit").textContent = ended ? t("console.end.submit_tag") : t("console.end.submit");
  dialog.showModal();
  if (unsolicited) $("end-title").focus();
  else {
    const first = dialog.querySelector("input[type=checkbox]");
    if (first) first.focus();
  }
  return true;
}

function close() {
  const dialog = $("end-dialog");
  if (dialog.open) dialog.close();
}

export function installEndDialog() {
  const dialog = $("end-dialog");
  $("end-cancel").addEventListener("click", close);
  $("end-none").addEventListener("click", async () => {
    if (!current) return;
    $("end-none").disabled = true;
    try {
      const error = await current.submit([]);
      if (error) showError(error);
      else close();
    } finally {
      $("end-none").disabled = false;
    }
  });
  dialog.addEventListener("close", () => {
    const target = current && current.returnFocus;
    current = null;
    if (target && target.isConnected && typeof target.focus === "function") target.focus();
  });
  $("end-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    const topics = [...dialog.querySelectorAll("input[name=topic]:checked")].map((box) => box.value);
    if (topics.length === 0) return showError(t("console.end.error_none"));
    if (topics.length > MAX_TOPICS) return showError(t("console.end.error_too_many", { max: MAX_TOPICS }));
    $("end-submit").disabled = true;
    try {
      const error = await current.submit(topics);
      if (error) showError(error);
      else close();
    } finally {
      $("end-submit").disabled = false;
    }
  });
}

// A chat that disappears (removed, tagged elsewhere) closes its dialog.
export function closeIfFor(chatId) {
  if (current && current.chatId === chatId) close();
}
