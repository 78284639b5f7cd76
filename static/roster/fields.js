// Form pieces of the roster: labelled fields, and <details> that stay open
// across renders (the page draws everything again after each change).

import { el } from "../shared/dom.js";

const open = new Set(); // keys of the <details> the user opened

export function field(label, input, extraClass) {
  return el("label", { class: extraClass ? `field ${extraClass}` : "field" }, el("span", { text: label }), input);
}

export function keepOpen(details, key) {
  details.open = open.has(key);
  details.addEventListener("toggle", () => (details.open ? open.add(key) : open.delete(key)));
  return details;
}
