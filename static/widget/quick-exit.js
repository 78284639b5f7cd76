// Quick exit: someone may walk in on the visitor. Leave at once, leave no
// trace in this tab, and replace (not push) the history entry so Back does
// not return to the chat or the host page.

const DEFAULT_URL = "https://www.google.com/";
const DOUBLE_PRESS_MS = 1000;

export function neutralUrl(status) {
  const candidate = status && status.quick_exit_url;
  if (typeof candidate === "string") {
    try {
      const url = new URL(candidate);
      if (url.protocol === "https:" || url.protocol === "http:") return url.href;
    } catch {
      /* not a URL: use the default */
    }
  }
  return DEFAULT_URL;
}

export function quickExit(url, socket) {
  // Fire and forget: waiting for the ack would delay the exit.
  try {
    if (socket && socket.connected) socket.emit("chat:end", {}, () => {});
  } catch {
    /* leaving anyway */
  }
  try {
    if (socket) socket.disconnect();
  } catch {
    /* leaving anyway */
  }
  try {
    sessionStorage.clear();
  } catch {
    /* nothing stored */
  }
  document.title = "";
  document.body.replaceChildren();

  const framed = window.parent !== window;
  if (framed) {
    // embed.js on the host page checks our origin and replaces the host page.
    // The payload is only the neutral URL, so any target origin is acceptable.
    try {
      window.parent.postMessage({ type: "dutychat:quick-exit", url }, "*");
    } catch {
      /* try the direct route below */
    }
  }
  try {
    window.top.location.replace(url);
  } catch {
    window.location.replace(url);
  }
}

// Wire the button, Escape pressed twice within a second, and a request from
// embed.js (the visitor pressed Escape twice on the host page).
export function installQuickExit(button, trigger) {
  button.addEventListener("click", trigger);
  let lastEscape = 0;
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Escape") return;
      const now = Date.now();
      if (now - lastEscape <= DOUBLE_PRESS_MS) {
        event.preventDefault();
        trigger();
      }
      lastEscape = now;
    },
    true,
  );
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || window.parent === window) return;
    if (event.data && event.data.type === "dutychat:quick-exit-request") trigger();
  });
}
