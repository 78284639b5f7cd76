// A polite status region for the manager pages: each announcement replaces the
// last one and clears itself, so screen readers hear it once and it does not linger.

import { el } from "./dom.js";

const CLEAR_MS = 8000;
const timers = new WeakMap();

export function announce(region, text) {
  clearTimeout(timers.get(region));
  region.replaceChildren(el("span", { text }));
  timers.set(region, setTimeout(() => region.replaceChildren(), CLEAR_MS));
}
