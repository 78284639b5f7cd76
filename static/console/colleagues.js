// Ask a colleague: the private staff thread of a chat (docs/protocol.md §4, thread:send,
// thread:fetch, thread:entry, thread:closed). Staff only: this module lives in the console,
// never in the widget or static/shared, so no visitor page can even name these events.
//
// One ColleagueThread per chat: inside the chat's own panel for the member who holds it,
// or in the "Colleagues asking you" card for a colleague who was asked in.

import { el } from "../shared/dom.js";
import { t } from "../i18n/i18n.js";
import { call } from "../shared/rpc.js";
import { newClientId } from "../shared/thread.js";

let counter = 0;

function errorText(ack) {
  const code = ack && ack.error && ack.error.code;
  if (code === "staff_not_on_duty") return t("console.colleague.error_not_on_duty");
  if (code === "chat_not_found" || code === "chat_not_active") return t("console.colleague.error_gone");
  if (code === "message_too_long") return t("console.colleague.error_too_long");
  if (code === "disconnected" || code === "timeout") return t("console.end.error_connection");
  return t("console.colleague.error_other", { code: code || "?" });
}

export class ColleagueThread {
  // desk: {socket(), selfId(), clock(iso), roster(), onCall(), maxLength()}; own: this member holds the chat.
  constructor(chatId, desk, { own, title }) {
    this.chatId = chatId;
    this.desk = desk;
    this.own = own;
    this.entries = new Map(); // seq -> ThreadEntry
    this.members = [];
    const n = ++counter;
    this.n = n;
    this.heading = el("h4", { id: `ct-title-${n}`, class: "ct-title", text: title });
    this.log = el("ol", {
      class: "ct-log",
      "aria-label": t("console.colleague.log_label"),
      tabindex: "0",
    });
    this.empty = el("p", { class: "muted ct-empty", text: t("console.colleague.empty") });
    this.membersNote = el("p", { class: "hint ct-members" });
    this.invite = el("select", { id: `ct-invite-${n}` });
    this.textarea = el("textarea", {
      id: `ct-text-${n}`,
      rows: "2",
      maxlength: String(desk.maxLength()),
      "aria-describedby": `ct-hint-${n}`,
    });
    this.error = el("p", { class: "form-error", role: "alert", hidden: true });
    this.sendButton = el("button", { type: "submit", class: "btn btn-primary", text: t("console.colleague.send") });
    this.noteButton = own
      ? el("button", {
          type: "button",
          class: "btn btn-secondary",
          text: t("console.colleague.save_note"),
          onclick: () => this.send("handover"),
        })
      : null;
    this.form = el(
      "form",
      { class: "ct-form", onsubmit: (event) => { event.preventDefault(); this.send("message"); } },
      el("label", { for: `ct-invite-${n}`, text: t("console.colleague.invite_label") }),
      this.invite,
      el("label", { for: `ct-text-${n}`, text: t("console.colleague.text_label") }),
      this.textarea,
      el("p", { id: `ct-hint-${n}`, class: "hint", text: t("console.colleague.private_hint") }),
      this.error,
      el("div", { class: "actions" }, this.sendButton, this.noteButton),
    );
    this.node = el(
      "section",
      { class: "colleague-thread", "aria-labelledby": `ct-title-${n}` },
      this.heading,
      this.membersNote,
      this.log,
      this.empty,
      this.form,
    );
    this.renderInvite();
    this.render();
  }

  // Add ThreadEntry objects (a push or a fetch); true when any was new.
  add(entries) {
    let added = false;
    for (const entry of entries || []) {
      if (!entry || !Number.isInteger(entry.seq) || this.entries.has(entry.seq)) continue;
      this.entries.set(entry.seq, entry);
      if (Array.isArray(entry.members)) this.members = entry.members;
      added = true;
    }
    if (added) this.render();
    return added;
  }

  setMembers(members) {
    if (Array.isArray(members)) this.members = members;
    this.render();
  }

  notes() {
    return [...this.entries.values()].filter((e) => e.kind === "handover");
  }

  // Who may be asked: the manager on call and colleagues on duty now (duty:roster), not already
  // in the thread, not oneself.
  renderInvite() {
    const self = this.desk.selfId();
    const inThread = new Set(this.members.map((m) => m.staff_id));
    const keep = this.invite.value;
    const seen = new Set();
    const options = [
      ...this.desk.onCall().filter((m) => m.signed_in).map((m) => ({ ...m, label: t("console.colleague.on_call", { alias: m.alias }) })),
      ...this.desk.roster().map((m) => ({ ...m, label: m.alias })),
    ]
      .filter((m) => m.staff_id !== self && !inThread.has(m.staff_id) && !seen.has(m.staff_id) && seen.add(m.staff_id))
      .map((m) => el("option", { value: String(m.staff_id), text: m.label }));
    this.invite.replaceChildren(el("option", { value: "", text: t("console.colleague.invite_none") }), ...options);
    if ([...this.invite.options].some((o) => o.value === keep)) this.invite.value = keep;
  }

  render() {
    const self = this.desk.selfId();
    const list = [...this.entries.values()].sort((a, b) => a.seq - b.seq);
    this.log.replaceChildren(
      ...list.map((entry) => {
        const mine = entry.author && entry.author.staff_id === self;
        const who = mine ? t("console.chat.you") : entry.author.alias;
        const label = entry.kind === "handover" ? t("console.colleague.note_by", { alias: who }) : who;
        return el(
          "li",
          { class: mine ? "msg msg-own" : "msg msg-other" },
          el(
            "p",
            { class: "msg-meta" },
            el("span", { class: "msg-sender", text: label }),
            " ",
            el("span", { class: "msg-time", text: this.desk.clock(entry.sent_at) }),
          ),
          el("p", { class: "msg-text", text: entry.text }),
        );
      }),
    );
    this.empty.hidden = list.length > 0;
    const others = this.members.filter((m) => m.staff_id !== self).map((m) => m.alias);
    this.membersNote.textContent = others.length
      ? t("console.colleague.members", { aliases: others.join(", ") })
      : t("console.colleague.no_members");
    this.renderInvite();
    this.log.scrollTop = this.log.scrollHeight;
  }

  async send(kind) {
    const text = this.textarea.value.trim();
    if (!text) return;
    const payload = { chat_id: this.chatId, client_id: newClientId("t"), text };
    if (kind === "handover") payload.kind = "handover";
    else if (this.invite.value) payload.invite = Number(this.invite.value);
    this.sendButton.disabled = true;
    if (this.noteButton) this.noteButton.disabled = true;
    try {
      const ack = await call(this.desk.socket(), "thread:send", payload);
      if (ack.ok) {
        this.textarea.value = "";
        this.error.hidden = true;
      } else {
        this.error.textContent = errorText(ack);
        this.error.hidden = false;
      }
    } finally {
      this.sendButton.disabled = false;
      if (this.noteButton) this.noteButton.disabled = false;
    }
  }

  async fetch() {
    const ack = await call(this.desk.socket(), "thread:fetch", { chat_id: this.chatId });
    if (!ack.ok) return null;
    this.setMembers(ack.thread.members);
    this.add(ack.thread.entries);
    return ack.thread;
  }
}
