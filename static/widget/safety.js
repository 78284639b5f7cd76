// The organisation's safety text in the widget (docs/protocol.md §11): on the
// closed screen, on the ended screen, and behind the footer's "Other help"
// disclosure in every state. The text of the widget's language only; a
// language without one shows none of it. Everything here is built with DOM
// APIs (the page's own markup stays as it is), the text with text nodes.

import { t } from "../i18n/i18n.js";
import { el } from "../shared/dom.js";
import { renderSafetyText } from "../shared/safety-text.js";

const parts = { texts: {}, blocks: [], toggle: null, panel: null, panelTitle: null, panelText: null };

function block(id) {
  const title = el("h3", { id: `${id}-title`, class: "safety-title" });
  const text = el("p", { class: "safety-text" });
  // Not a landmark: the footer's "Other help" panel is the one region of that name.
  const section = el("div", { id, class: "safety", hidden: true }, title, text);
  parts.blocks.push({ section, title, text });
  return section;
}

function setOpen(open) {
  parts.toggle.setAttribute("aria-expanded", String(open));
  parts.panel.hidden = !open;
  if (open) parts.panelTitle.focus();
}

// Add the blocks and the footer's disclosure to the widget page, for `texts` (GET /api/safety-text → texts).
// Resolves once their style sheet has loaded (or failed), so nothing shows unstyled.
export function installSafety(texts) {
  // Its own style sheet (same origin, allowed by the page's CSP), so the widget's stays as it is.
  const sheet = el("link", { rel: "stylesheet", href: "/static/widget/safety.css" });
  const styled = new Promise((resolve) => {
    sheet.addEventListener("load", resolve, { once: true });
    sheet.addEventListener("error", resolve, { once: true });
  });
  document.head.append(sheet);
  document.getElementById("closed-desk").after(block("closed-safety"));
  // After the optional rating, so that its buttons keep their place on a small screen.
  document.getElementById("rating-thanks").after(block("ended-safety"));

  parts.panelTitle = el("h2", { id: "other-help-title", class: "safety-title", tabindex: "-1" });
  parts.panelText = el("p", { class: "safety-text" });
  const close = el("button", { type: "button", class: "btn btn-secondary other-help-close", onclick: () => {
    setOpen(false);
    parts.toggle.focus();
  } });
  parts.panel = el(
    "section",
    { id: "other-help", class: "other-help", "aria-labelledby": "other-help-title", hidden: true },
    parts.panelTitle,
    parts.panelText,
    close,
  );
  parts.toggle = el("button", {
    type: "button",
    id: "other-help-toggle",
    class: "btn btn-plain other-help-toggle",
    "aria-expanded": "false",
    "aria-controls": "other-help",
    hidden: true,
    onclick: () => setOpen(parts.panel.hidden),
  });
  parts.close = close;
  const footer = document.querySelector(".footer");
  footer.prepend(parts.panel, parts.toggle);
  parts.texts = texts;
  return styled;
}

// Show the text of `lang` (or hide everything when it has none) in the words of the current catalogue.
export function renderSafety(lang) {
  if (!parts.toggle) return;
  const text = parts.texts[lang];
  const segments = text && Array.isArray(text.segments) ? text.segments : null;
  for (const { section, title, text: node } of parts.blocks) {
    section.hidden = !segments;
    title.textContent = t("widget.other_help.title");
    if (segments) renderSafetyText(node, segments);
  }
  parts.toggle.hidden = !segments;
  parts.toggle.textContent = t("widget.other_help.link");
  parts.panelTitle.textContent = t("widget.other_help.title");
  parts.close.textContent = t("widget.other_help.close");
  if (segments) renderSafetyText(parts.panelText, segments);
  else setOpen(false);
}
