// Request/acknowledge helper shared by the widget and the staff console.
//
// The protocol (docs/protocol.md §2) answers every client event through its
// acknowledgement with {ok: true, ...} or {ok: false, error: {code, message}}.
// A lost acknowledgement must never hang the UI, so every call has a timeout
// and failures of the transport itself are mapped onto the same shape with
// client-side codes ("timeout", "disconnected") so callers branch in one place.

export const ACK_TIMEOUT_MS = 10000;

// Codes after which the same request may simply be sent again later.
export const TRANSIENT_CODES = new Set(["timeout", "disconnected", "rate_limited", "internal_error"]);

export function failure(code) {
  return { ok: false, error: { code, message: code } };
}

export function errorCode(ack) {
  return (ack && ack.error && ack.error.code) || "unknown";
}

export async function call(socket, event, payload = {}, timeout = ACK_TIMEOUT_MS) {
  // Never emit while disconnected: socket.io would buffer the packet and replay
  // it first thing on the next connection, before chat:resume / staff:sync has
  // re-attached our chats, and the server would refuse it. Callers retry
  // themselves once they are back in a known state.
  if (!socket || !socket.connected) return failure("disconnected");
  try {
    const ack = await socket.timeout(timeout).emitWithAck(event, payload);
    if (ack && typeof ack === "object" && typeof ack.ok === "boolean") return ack;
    return failure("invalid_ack");
  } catch {
    return failure(socket.connected ? "timeout" : "disconnected");
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
