// The organisation's safety text (docs/protocol.md §11): GET /api/safety-text
// answers it split into segments; this places them with text nodes and <a>
// elements, never as HTML. Only an https:, http: or tel: href becomes a link.

const SCHEMES = new Set(["https:", "http:", "tel:"]);

function safeHref(href) {
  if (typeof href !== "string") return null;
  try {
    return SCHEMES.has(new URL(href).protocol) ? href : null;
  } catch {
    return null;
  }
}

// Fill `node` with the segments of one SafetyText (its line breaks are kept by CSS white-space: pre-line).
export function renderSafetyText(node, segments) {
  const parts = [];
  for (const segment of Array.isArray(segments) ? segments : []) {
    if (!segment || typeof segment.text !== "string") continue;
    const href = segment.kind === "link" || segment.kind === "phone" ? safeHref(segment.href) : null;
    if (!href) {
      parts.push(document.createTextNode(segment.text));
      continue;
    }
    const link = document.createElement("a");
    link.href = href;
    link.textContent = segment.text;
    if (segment.kind === "link") {
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.referrerPolicy = "no-referrer";
    }
    parts.push(link);
  }
  node.replaceChildren(...parts);
}

// The texts per language, or null when the server does not answer. The answer
// may come from the browser's cache (60 s); `fresh` asks the server again.
export async function fetchSafetyTexts({ fresh = false } = {}) {
  try {
    const response = await fetch("/api/safety-text", { credentials: "omit", cache: fresh ? "no-cache" : "default" });
    if (!response.ok) return null;
    const data = await response.json();
    return data && typeof data.texts === "object" && data.texts ? data.texts : null;
  } catch {
    return null;
  }
}
