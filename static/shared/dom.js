import { clockText } from "./clock.js";

// Tiny element builder. Text only ever goes in through textContent: message
// text comes from strangers and must never be parsed as HTML.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function $(id) {
  return document.getElementById(id);
}

// A clock time (shared/dates.js clockText): the locale's hour cycle, in timeZone (undefined: the device's).
export function formatTime(iso, lang, timeZone) {
  return clockText(iso, lang, timeZone);
}
