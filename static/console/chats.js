// One chat in the staff console: a tab in the tab list and its panel (log,
// visitor state, composer). The console module owns the socket and routes
// server events to the right ChatTab.

import { el } from "../shared/dom.js";
import { language, t } from "../i18n/i18n.js";
import { call } from "../shared/rpc.js";
import { Sender, Thread, plainLinkHosts, renderMessageText } from "../shared/thread.js";
import { TypingNotifier } from "../shared/typing.js";
import { ColleagueThread } from "./colleagues.js";

const VISITOR_TYPING_TIMEOUT_MS = 15000;
let counter = 0; // DOM ids: chat_id is opaque, so never build ids from it

// The languages of the signed-in member (staff:sync → staff.languages; empty: every language).
let ownLanguages = [];

export function setOwnLanguages(languages) {
  ownLanguages = Array.isArray(languages) ? languages : [];
}

export function languageName(code) {
  try {
    return new Intl.DisplayNames([language()], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

export function durationText(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  if (s < 60) return t("console.duration.seconds", { n: s });
  return t("console.duration.minutes", { n: Math.round(s / 60) });
}

function endedText(reason) {
  if (reason === "visitor_left") return t("console.chat.ended_visitor_left");
  if (reason === "visitor_timeout") return t("console.chat.ended_visitor_timeout");
  return t("console.chat.ended_other");
}

export class ChatTab {
  // desk: {socket(), maxLength(), select(tab, focus), requestEnd(tab), requestTransfer(tab),
  //        requestBlock(tab), openCanned(tab), announce(text), unreadChanged()}
  constructor(chat, desk) {
    this.desk = desk;
    this.id = chat.chat_id;
    this.n = ++counter;
    this.chat = { ...chat, messages: undefined };
    this.thread = new Thread("staff");
    this.nodes = new Map();
    this.unread = 0;
    this.selected = false;
    this.fetching = false;
    this.sender = new Sender(this.thread, {
      send: (item) =>
        call(desk.socket(), "message:send", { chat_id: this.id, client_id: item.client_id, text: item.text }),
      chatId: () => this.id,
      onChange: () => this.renderLog(),
      onGap: () => this.fetchMissing(),
    });
    this.typing = new TypingNotifier((value) => {
      if (this.isActive()) call(desk.socket(), "typing:set", { chat_id: this.id, typing: value });
    });
    this.build();
    this.update(chat, { countUnread: false });
  }

  isActive() {
    return this.chat.state === "active";
  }

  // This member was brought into a colleague's chat (chat:invite): "responder", "listener", or null.
  secondRole() {
    const second = this.chat.second;
    const self = this.desk.selfId();
    return second && self !== null && second.staff_id === self ? second.as : null;
  }

  alias() {
    return this.chat.visitor_alias || t("console.chat.visitor");
  }

  build() {
    const n = this.n;
    this.badge = el("span", { class: "badge", "aria-hidden": "true" });
    this.badgeText = el("span", { class: "visually-hidden" });
    this.flag = el("span", { class: "tab-flag" });
    this.tab = el(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${n}`,
        class: "tab",
        "aria-controls": `panel-${n}`,
        "aria-selected": "false",
        tabindex: "-1",
        onclick: () => this.desk.select(this, false),
      },
      el("span", { class: "tab-name", text: this.alias() }),
      // Spaces keep the accessible name readable: "Friend 12 ended — tag topics 2 unread".
      " ",
      this.flag,
      " ",
      this.badge,
      this.badgeText,
    );

    this.meta = el("p", { class: "chat-meta" });
    this.presence = el("p", { class: "chat-presence" });
    this.endedNote = el("p", { class: "chat-ended", role: "status" });
    // An ended chat asks for its topics here, in its own tab; the dialog opens only from this button.
    this.tagButton = el("button", {
      type: "button",
      class: "btn btn-primary chat-end chat-tag",
      "aria-haspopup": "dialog",
      text: t("console.chat.tag_topics"),
      onclick: () => this.desk.requestEnd(this, false),
    });
    this.endedBanner = el("div", { class: "chat-ended-banner", hidden: true }, this.endedNote, this.tagButton);
    this.endButton = el("button", {
      type: "button",
      class: "btn btn-danger chat-end",
      onclick: () => this.desk.requestEnd(this, false),
    });
    this.transferButton = el("button", {
      type: "button",
      class: "btn btn-secondary chat-transfer",
      "aria-haspopup": "dialog",
      text: t("console.chat.transfer"),
      onclick: () => this.desk.requestTransfer(this),
    });
    this.flagButton = el("button", {
      type: "button",
      class: "btn btn-secondary chat-flag",
      "aria-haspopup": "dialog",
      text: t("console.chat.flag"),
      onclick: () => this.desk.requestFlag(this),
    });
    this.flagNote = el("p", { class: "chat-flags", hidden: true });
    this.debriefButton = el("button", {
      type: "button",
      class: "btn btn-secondary chat-debrief",
      hidden: true,
      text: t("console.debrief.ask"),
      onclick: () => this.desk.requestDebrief(this),
    });
    // Bring a colleague into the chat (chat:invite), and, in a colleague's chat, leave it (chat:leave).
    this.inviteButton = el("button", {
      type: "button",
      class: "btn btn-secondary chat-invite",
      "aria-haspopup": "dialog",
      text: t("console.chat.invite"),
      onclick: () => this.desk.requestInvite(this),
    });
    this.leaveButton = el("button", {
      type: "button",
      class: "btn btn-secondary chat-leave",
      hidden: true,
      text: t("console.chat.leave"),
      onclick: () => this.desk.requestLeave(this),
    });
    // Who else is in the chat: on screen, not only announced.
    this.secondNote = el("p", { class: "chat-second", hidden: true });
    this.blockButton = el("button", {
      type: "button",
      class: "btn btn-secondary chat-block",
      "aria-haspopup": "dialog",
      text: t("console.chat.block"),
      onclick: () => this.desk.requestBlock(this),
    });
    this.cannedButton = el("button", {
      type: "button",
      class: "btn btn-secondary chat-canned",
      "aria-haspopup": "dialog",
      "aria-keyshortcuts": "Alt+C",
      text: t("console.chat.canned"),
      onclick: () => this.desk.openCanned(this),
    });
    this.log = el("ol", {
      class: "log",
      // Announcements go through the console's single live region instead,
      // so that background tabs can be announced too, without double reading.
      "aria-live": "off",
      "aria-label": t("console.chat.log_label", { alias: this.alias() }),
      tabindex: "0",
    });
    this.typingNote = el("p", { class: "typing", hidden: true });
    this.textarea = el("textarea", {
      id: `reply-${n}`,
      rows: "3",
      maxlength: String(this.desk.maxLength()),
      "aria-describedby": `hint-${n}`,
      oninput: () => {
        this.typing.input(this.textarea.value.trim() !== "");
        if (this.textarea.value.trim() !== this.warnedText) this.showLinkWarning(null);
      },
      onkeydown: (event) => {
        if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyC") {
          event.preventDefault();
          this.desk.openCanned(this);
          return;
        }
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.form.requestSubmit();
        }
      },
    });
    this.sendButton = el("button", { type: "submit", class: "btn btn-primary", text: t("console.chat.send") });
    // Shown before sending a link the visitor will get as plain text; Send again sends it as it is.
    this.linkWarning = el("p", { id: `link-warning-${n}`, class: "link-warning", role: "alert", hidden: true });
    this.warnedText = null;
    this.form = el(
      "form",
      { class: "composer", onsubmit: (event) => this.send(event) },
      el("label", { for: `reply-${n}`, text: t("console.chat.reply_label", { alias: this.alias() }) }),
      el("div", { class: "composer-row" }, this.textarea, this.cannedButton, this.sendButton),
      el("p", { id: `hint-${n}`, class: "hint", text: t("console.chat.composer_hint") }),
      this.linkWarning,
    );
    // Who handed the chat over and their notes: on screen, not only for screen readers.
    this.handoverFrom = el("p", { class: "handover-from" });
    this.handoverNotes = el("ul", { class: "handover-notes" });
    this.handover = el(
      "section",
      { class: "handover", "aria-label": t("console.handover.label"), hidden: true },
      this.handoverFrom,
      this.handoverNotes,
    );
    this.transferredBy = null;
    this.colleagues = new ColleagueThread(this.id, this.desk, { own: true, title: t("console.colleague.title") });
    this.panel = el(
      "section",
      { role: "tabpanel", id: `panel-${n}`, class: "chat-panel", "aria-labelledby": `tab-${n}`, hidden: true },
      el(
        "header",
        { class: "chat-head" },
        el(
          "div",
          {},
          el("h3", { class: "chat-title", text: this.alias() }),
          this.meta,
          this.presence,
          this.flagNote,
          this.secondNote,
          this.debriefButton,
        ),
        el(
          "div",
          { class: "actions" },
          this.inviteButton,
          this.transferButton,
          this.flagButton,
          this.blockButton,
          this.endButton,
          this.leaveButton,
        ),
      ),
      this.endedBanner,
      this.handover,
      this.log,
      this.typingNote,
      this.form,
      this.colleagues.node,
    );
  }

  // The categories this chat is flagged with (the chat:flag ack).
  setFlags(flags, label) {
    this.flags = Array.isArray(flags) ? flags : [];
    this.flagNote.textContent = this.flags.length
      ? t("console.chat.flagged", { labels: this.flags.map(label).join(", ") })
      : "";
    this.flagNote.hidden = !this.flags.length;
    this.debriefButton.hidden = !this.flags.length || Boolean(this.debriefAsked);
  }

  debriefRequested() {
    this.debriefAsked = true;
    this.debriefButton.hidden = true;
  }

  // A colleague handed this chat over (chat:assigned transferred_by): say so on screen.
  setTransferredBy(by) {
    this.transferredBy = by && by.alias ? by : null;
    this.renderHandover();
  }

  // Entries of this chat's staff thread (thread:entry, thread:fetch).
  addThreadEntries(entries) {
    const added = this.colleagues.add(entries);
    if (added) this.renderHandover();
    return added;
  }

  renderHandover() {
    const self = this.desk.selfId();
    const notes = this.colleagues.notes().filter((e) => e.author.staff_id !== self);
    this.handoverFrom.textContent = this.transferredBy
      ? t("console.handover.from", { from: this.transferredBy.alias })
      : "";
    this.handoverFrom.hidden = !this.transferredBy;
    this.handoverNotes.replaceChildren(
      ...notes.map((note) =>
        el(
          "li",
          {},
          el("span", { class: "handover-by", text: t("console.colleague.note_by", { alias: note.author.alias }) }),
          " ",
          el("span", { class: "handover-text", text: note.text }),
        ),
      ),
    );
    this.handover.hidden = !this.transferredBy && !notes.length;
  }

  // Merge a StaffChat (from staff:sync or chat:assigned).
  update(chat, { countUnread = true } = {}) {
    const { messages, ...meta } = chat;
    this.chat = { ...this.chat, ...meta };
    const before = new Set(this.thread.messages.keys());
    this.thread.addAll(messages);
    if (countUnread) {
      for (const m of this.thread.list()) if (!before.has(m.seq) && m.sender === "visitor") this.noteUnread();
    }
    if (this.isActive()) this.sender.start();
    else this.sender.stop();
    this.render();
    if (this.chat.last_seq > this.thread.lastSeq || this.thread.hasGap()) this.fetchMissing();
  }

  receive(message) {
    if (!this.thread.add(message)) return;
    if (message.sender === "visitor") {
      this.chat.visitor_messages = Math.max(this.chat.visitor_messages || 0, 1);
      this.setVisitorTyping(false);
      const visible = this.selected && document.visibilityState === "visible";
      this.desk.announce(
        visible
          ? t("console.announce.message", { alias: this.alias(), text: message.text })
          : t("console.announce.message_other", { alias: this.alias() }),
      );
      this.noteUnread();
    }
    this.renderLog();
    if (this.thread.hasGap()) this.fetchMissing();
  }

  noteUnread() {
    if (this.selected && document.visibilityState === "visible") return;
    this.unread += 1;
    this.renderTab();
    this.desk.unreadChanged();
  }

  clearUnread() {
    if (!this.unread) return;
    this.unread = 0;
    this.renderTab();
    this.desk.unreadChanged();
  }

  async fetchMissing() {
    if (this.fetching) return;
    this.fetching = true;
    try {
      // One page an answer: ask again while the server says `more`.
      for (let more = true, pages = 0; more && pages < 50; pages += 1) {
        const ack = await call(this.desk.socket(), "messages:fetch", { chat_id: this.id, after_seq: this.thread.lastSeq });
        more = Boolean(ack.ok && ack.more && ack.messages.length);
        if (ack.ok && this.thread.addAll(ack.messages)) this.renderLog();
      }
    } finally {
      this.fetching = false;
    }
  }

  send(event) {
    event.preventDefault();
    const text = this.textarea.value.trim();
    if (!text || !this.isActive()) return;
    const plain = plainLinkHosts(text);
    if (plain.length && this.warnedText !== text) {
      this.showLinkWarning(text, plain);
      return;
    }
    this.showLinkWarning(null);
    this.thread.enqueue(text, "s");
    this.textarea.value = "";
    this.typing.stop();
    this.renderLog();
    this.log.scrollTop = this.log.scrollHeight;
    this.sender.pump();
  }

  // Warn that `text` has links (on `hosts`) the visitor sees as plain text; null: no warning.
  showLinkWarning(text, hosts = []) {
    this.warnedText = text;
    this.linkWarning.textContent = text ? t("console.chat.link_warning", { hosts: hosts.join(", ") }) : "";
    this.linkWarning.hidden = !text;
    if (text) this.textarea.setAttribute("aria-describedby", `${this.linkWarning.id} hint-${this.n}`);
    else this.textarea.setAttribute("aria-describedby", `hint-${this.n}`);
  }

  // Put a canned response's text into the reply box at the caret, for editing before sending.
  insertText(text) {
    const area = this.textarea;
    if (area.disabled) return;
    const start = Number.isInteger(area.selectionStart) ? area.selectionStart : area.value.length;
    const end = Number.isInteger(area.selectionEnd) ? area.selectionEnd : start;
    area.setRangeText(text, start, end, "end");
    area.focus();
    this.typing.input(area.value.trim() !== "");
  }

  setVisitorTyping(on) {
    clearTimeout(this.typingTimer);
    this.typingNote.textContent = on ? t("console.chat.typing", { alias: this.alias() }) : "";
    this.typingNote.hidden = !on;
    // A lost "stopped typing" must not leave the indicator up for ever.
    if (on) this.typingTimer = setTimeout(() => this.setVisitorTyping(false), VISITOR_TYPING_TIMEOUT_MS);
  }

  setPresence(connected) {
    this.chat.visitor_connected = connected;
    this.render();
  }

  // No visitor message in this chat (the server's count, or what this tab has seen).
  visitorWroteNothing() {
    if (Number.isInteger(this.chat.visitor_messages) && this.chat.visitor_messages > 0) return false;
    return !this.thread.list().some((m) => m.sender === "visitor");
  }

  markEnded(reason) {
    this.chat.state = "ended";
    this.chat.end_reason = reason;
    this.sender.stop();
    this.typing.reset();
    this.setVisitorTyping(false);
    this.render();
  }

  // The connection dropped: the server forgot our typing state, and sending
  // waits until staff:sync has confirmed the chat is still ours.
  pause() {
    this.sender.stop();
    this.typing.reset();
  }

  setSelected(selected) {
    this.selected = selected;
    this.tab.setAttribute("aria-selected", String(selected));
    this.tab.tabIndex = selected ? 0 : -1;
    this.panel.hidden = !selected;
    if (selected) this.clearUnread();
  }

  destroy() {
    this.sender.stop();
    this.typing.reset();
    clearTimeout(this.typingTimer);
    this.tab.remove();
    this.panel.remove();
  }

  render() {
    const chat = this.chat;
    const ended = chat.state === "ended";
    const parts = [languageName(chat.language)];
    // A chat in a language this member does not list (the "anyone" policy): say so plainly.
    const mine = ownLanguages;
    if (mine.length && !mine.includes(chat.language)) parts.push(t("console.chat.not_your_language"));
    if (Number.isFinite(chat.waited_seconds)) parts.push(t("console.chat.waited", { duration: durationText(chat.waited_seconds) }));
    this.meta.textContent = parts.join(" · ");
    this.presence.textContent = ended
      ? ""
      : chat.visitor_connected === false
        ? t("console.chat.visitor_offline")
        : t("console.chat.visitor_online");
    this.presence.classList.toggle("offline", chat.visitor_connected === false);
    this.endedNote.textContent = ended ? endedText(chat.end_reason) : "";
    this.endedBanner.hidden = !ended;
    this.endButton.textContent = t("console.chat.end");
    this.endButton.hidden = ended;
    this.textarea.disabled = ended;
    this.sendButton.disabled = ended;
    this.cannedButton.disabled = ended;
    // In a colleague's chat this member only writes (a listener not even that) and may leave;
    // ending, transferring, blocking, flagging and inviting stay with the chat's member.
    const role = this.secondRole();
    const second = chat.second && !ended ? chat.second : null;
    this.transferButton.hidden = ended || Boolean(role);
    this.endButton.hidden = ended || Boolean(role);
    this.blockButton.hidden = Boolean(role);
    this.flagButton.hidden = Boolean(role);
    this.inviteButton.hidden = ended || Boolean(second);
    this.leaveButton.hidden = !role || ended;
    const owner = (chat.invited_by && chat.invited_by.alias) || t("console.chat.colleague");
    this.secondNote.textContent = !second
      ? ""
      : role === "listener"
        ? t("console.second.you_listen", { owner })
        : role
          ? t("console.second.you_respond", { owner })
          : second.as === "listener"
            ? t("console.second.listening", { alias: second.alias })
            : t("console.second.with", { alias: second.alias });
    this.secondNote.hidden = !second;
    this.form.hidden = ended || role === "listener";
    // The thread is deleted with the chat (it ends): nothing left to show or send.
    this.colleagues.node.hidden = ended;
    this.renderTab();
    this.renderLog();
  }

  renderTab() {
    const ended = this.chat.state === "ended";
    this.flag.textContent = ended ? t("console.chat.tab_needs_topics") : "";
    this.flag.hidden = !ended;
    this.badge.textContent = this.unread ? String(this.unread) : "";
    this.badge.hidden = !this.unread;
    this.badgeText.textContent = this.unread ? t("console.chat.unread", { n: this.unread }) : "";
    this.tab.classList.toggle("tab-ended", ended);
  }

  // A staff message is "You" when this member wrote it, else the colleague's alias
  // (after a transfer, hand-over or requeue; docs/protocol.md, StaffMessage).
  staffLabel(message) {
    const author = message.author;
    const self = this.desk.selfId();
    if (author && self !== null && author.staff_id !== self && author.alias) return author.alias;
    return t("console.chat.you");
  }

  // In-place update, keyed like the widget: own messages by client_id so the
  // "sending" line becomes "sent" instead of being replaced.
  renderLog() {
    const log = this.log;
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const entries = this.thread.list().map((m) => ({
      key: m.sender === "staff" && m.client_id ? `c:${m.client_id}` : `s:${m.seq}`,
      own: m.sender === "staff",
      sender: m.sender === "staff" ? this.staffLabel(m) : this.alias(),
      time: this.desk.clock(m.sent_at),
      text: m.text,
      state: m.sender === "staff" ? t("console.delivery.sent") : "",
    }));
    for (const item of this.thread.outbox) {
      const failed = item.status === "failed";
      entries.push({
        key: `c:${item.client_id}`,
        own: true,
        sender: t("console.chat.you"),
        time: "",
        text: item.text,
        state: failed ? t("console.delivery.failed", { code: item.error }) : t("console.delivery.sending"),
        failed,
      });
    }
    const wanted = new Set(entries.map((e) => e.key));
    for (const [key, node] of this.nodes) {
      if (!wanted.has(key)) {
        node.remove();
        this.nodes.delete(key);
      }
    }
    entries.forEach((entry, index) => {
      let node = this.nodes.get(entry.key);
      if (!node) {
        node = el(
          "li",
          { class: entry.own ? "msg msg-own" : "msg msg-other" },
          el("p", { class: "msg-meta" }, el("span", { class: "msg-sender" }), " ", el("span", { class: "msg-time" })),
          el("p", { class: "msg-text" }),
          el("p", { class: "msg-state" }),
        );
        this.nodes.set(entry.key, node);
      }
      node.querySelector(".msg-sender").textContent = entry.sender;
      node.querySelector(".msg-time").textContent = entry.time;
      const body = node.querySelector(".msg-text");
      renderMessageText(body, entry.text);
      const state = node.querySelector(".msg-state");
      state.textContent = entry.state;
      state.hidden = !entry.state;
      node.classList.toggle("msg-failed", Boolean(entry.failed));
      if (log.children[index] !== node) log.insertBefore(node, log.children[index] || null);
    });
    if (nearBottom) log.scrollTop = log.scrollHeight;
  }
}
