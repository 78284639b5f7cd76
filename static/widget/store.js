// The chat survives a reload of the same tab, and nothing else: the resume
// token, chat id and language live in sessionStorage only (never localStorage
// or cookies), which the browser drops when the tab closes. Never message
// text: Chromium keeps sessionStorage in the profile on disk.

const CHAT_KEY = "dutychat.chat";
const LANG_KEY = "dutychat.lang";

function read(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key));
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled (private modes): the chat still works, it
    // just cannot survive a reload.
  }
}

// {resume_token, chat_id, language}
export function loadChat() {
  const saved = read(CHAT_KEY);
  return saved && typeof saved.resume_token === "string" ? saved : null;
}

export function saveChat(value) {
  write(CHAT_KEY, value);
}

export function clearChat() {
  try {
    sessionStorage.removeItem(CHAT_KEY);
  } catch {
    /* nothing stored */
  }
}

export function loadLanguage() {
  const lang = read(LANG_KEY);
  return typeof lang === "string" ? lang : null;
}

export function saveLanguage(lang) {
  write(LANG_KEY, lang);
}
