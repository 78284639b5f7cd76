// Every change goes to the server and the roster is then loaded again, so the
// page never shows a state the server has not confirmed. This module runs the
// changes, shows their outcome and puts focus back where the change was made.

import { $ } from "../shared/dom.js";
import * as page from "../shared/page.js";
import { announce as announceIn } from "../shared/status.js";

const ERRORS = {
  codes: {
    conflict: "roster.error.conflict",
    release_too_late: "roster.error.release_too_late",
    forbidden: "roster.error.forbidden",
    not_found: "roster.error.not_found",
    unauthenticated: "roster.error.unauthenticated",
    origin_not_allowed: "roster.error.origin",
    network: "roster.error.network",
  },
  invalid: "roster.error.invalid",
  other: "roster.error.other",
};

const VIEWS = ["loading", "signed-out", "roster-view"];

let loadAndRender = async () => {};

// The page's "load everything and draw it again", given at boot.
export function setReload(fn) {
  loadAndRender = fn;
}

export function announce(text) {
  announceIn($("status"), text);
}

export function showError(text) {
  page.showError($("error"), text);
}

export function errorText(error) {
  return page.errorText(error, ERRORS);
}

export function showSignedOut() {
  page.showSignedOut(VIEWS);
}

export async function reload(focusKey) {
  await loadAndRender();
  if (focusKey) restoreFocus(focusKey);
}

// Run one change against the server; on success announce it and reload.
// Answers whether it was made.
export async function change(run, success, focusKey) {
  const result = await page.runChange(run, {
    start: () => showError(null),
    refused: async ({ error, status }) => {
      showError(errorText(error));
      if (status === 401) showSignedOut();
      else await reload(focusKey); // the week may have changed under us
    },
    done: async ({ data }) => {
      await reload(focusKey);
      announce(typeof success === "function" ? success(data) : success);
    },
  });
  return Boolean(result && result.ok);
}

// After a re-render the control that was used is gone: move focus to a
// stable landmark of what was changed (an occurrence's or slot's heading).
function restoreFocus(key) {
  const target = document.querySelector(`[data-focus="${CSS.escape(key)}"]`) || $(key);
  if (!target) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
}
