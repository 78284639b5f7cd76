// What the roster, staff and report pages do alike: roles, error texts, one
// change at a time, the confirmation dialog, copying a field, and which of
// the page's top-level views (loading, signed out, forbidden, the page) shows.

import { t } from "../i18n/i18n.js";
import { $ } from "./dom.js";

const MANAGER_ROLES = new Set(["manager", "admin"]);

export function isManager(role) {
  return MANAGER_ROLES.has(role);
}

export function showError(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}

// The text of an API error in the page's words: `keys.codes` maps error codes
// to catalogue keys; `keys.invalid` (with {detail}) and `keys.other` (with
// {code}) cover the rest.
export function errorText(error, keys) {
  const code = (error && error.code) || "unknown";
  if (keys.codes[code]) return t(keys.codes[code]);
  if (code === "invalid_request") return t(keys.invalid, { detail: (error && error.message) || "" });
  return t(keys.other, { code });
}

let busy = false;

// Run one change against the server while no other runs, the page marked busy
// meanwhile. `start()` runs first, then `refused(result)` or `done(result)`
// (both may be async). Answers the result, or null when another change was
// still running.
export async function runChange(run, { start, refused, done }) {
  if (busy) return null;
  busy = true;
  document.body.setAttribute("aria-busy", "true");
  try {
    if (start) start();
    const result = await run();
    if (result.ok) await done(result);
    else await refused(result);
    return result;
  } finally {
    busy = false;
    document.body.removeAttribute("aria-busy");
  }
}

// Ask in the page's modal #confirm-dialog; answers true for yes. Focus goes
// back to the control that opened it (when that is still in the page).
export function confirmAction(text, yesLabel) {
  const dialog = $("confirm-dialog");
  const opener = document.activeElement;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yesLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (opener && opener !== document.body && opener.isConnected) opener.focus();
        resolve(dialog.returnValue === "yes");
      },
      { once: true },
    );
    dialog.showModal();
    $("confirm-no").focus();
  });
}

// Copy a read-only field's value to the clipboard; answers whether it worked.
export async function copyField(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}

// Show the view with id `shown` of the page's top-level `views`, hide the others.
export function showOnly(views, shown) {
  for (const id of views) $(id).hidden = id !== shown;
}

// The session is gone or never was: the page says so and links to the console's sign-in.
export function showSignedOut(views) {
  showOnly(views, "signed-out");
  $("whoami").textContent = "";
}
