// Tells the other side we are typing: "true" once when typing starts (and
// again every few seconds in case one was lost), "false" after a few idle
// seconds or on send. Keeps well under the server's per-socket event budget.

const IDLE_MS = 3000;
const REFRESH_MS = 5000;

export class TypingNotifier {
  constructor(emit) {
    this.emit = emit; // (typing: boolean) => void
    this.sent = false;
    this.sentAt = 0;
    this.timer = null;
  }

  input(hasText) {
    if (!hasText) return this.stop();
    const now = Date.now();
    if (!this.sent || now - this.sentAt > REFRESH_MS) {
      this.sent = true;
      this.sentAt = now;
      this.emit(true);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stop(), IDLE_MS);
  }

  stop() {
    clearTimeout(this.timer);
    if (!this.sent) return;
    this.sent = false;
    this.emit(false);
  }

  // After a disconnect the server has forgotten; start from scratch.
  reset() {
    clearTimeout(this.timer);
    this.sent = false;
  }
}
