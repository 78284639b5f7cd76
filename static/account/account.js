// One's own account (docs/protocol.md §10): change the password, set up or
// turn off the second factor, see where one is signed in and end a session.
// Every change goes to the server and the page shows what it answered.

import { t, translateDom } from "../i18n/i18n.js";
import * as http from "../shared/api.js";
import { $, el, formatTime } from "../shared/dom.js";
import { loadPageLanguage } from "../shared/language.js";
import { mountNav } from "../shared/nav.js";
import { showError, showOnly, showSignedOut } from "../shared/page.js";
import { enrol, errorMessage } from "../shared/signin.js";
import { announce } from "../shared/status.js";

const VIEWS = ["loading", "signed-out", "account-view"];
const state = { me: null, lang: "en" };

function say(text) {
  announce($("status"), text);
}

async function renderTotp() {
  const result = await http.account();
  if (!result.ok) return showError($("error"), errorMessage(result));
  const account = result.data;
  $("totp-state").textContent = account.totp_enabled
    ? t("account.totp.on", { left: String(account.recovery_codes_left) })
    : t(account.totp_required ? "account.totp.off_required" : "account.totp.off");
  $("totp-enrol").hidden = account.totp_enabled;
  $("totp-disable-form").hidden = !account.totp_enabled || account.totp_required;
}

async function renderSessions() {
  const result = await http.sessions();
  if (!result.ok) return showError($("error"), errorMessage(result));
  $("sessions-body").replaceChildren(
    ...result.data.sessions.map((session) => {
      const end = el("button", {
        type: "button",
        class: "btn btn-secondary",
        text: session.current ? t("account.sessions.end_current") : t("account.sessions.end"),
      });
      end.addEventListener("click", () => onEndSession(session, end));
      return el(
        "tr",
        {},
        el("td", { text: formatTime(session.created_at, state.lang) }),
        el("td", {
          text: session.current ? t("account.sessions.this_one") : formatTime(session.last_seen_at, state.lang),
        }),
        el("td", {}, end),
      );
    }),
  );
}

async function onEndSession(session, button) {
  button.disabled = true;
  const result = await http.endSession(session.id);
  if (!result.ok) {
    button.disabled = false;
    return showError($("error"), errorMessage(result));
  }
  if (session.current) return showSignedOut(VIEWS);
  say(t("account.sessions.ended"));
  await renderSessions();
  $("sessions-title").focus();
}

async function onPassword(event) {
  event.preventDefault();
  const fresh = $("own-new").value;
  if (fresh !== $("own-repeat").value) return showError($("password-error"), t("signin.error.mismatch"));
  const result = await http.changePassword($("own-current").value, fresh);
  if (!result.ok) return showError($("password-error"), errorMessage(result));
  for (const id of ["own-current", "own-new", "own-repeat"]) $(id).value = "";
  showError($("password-error"), "");
  say(t("account.password.changed"));
  await renderSessions();
}

async function onEnrol() {
  $("totp-enrol").hidden = true;
  const setup = await enrol(async () => {
    say(t("account.totp.enabled"));
    await renderTotp();
    $("totp-title").focus();
  });
  if (!setup.ok) {
    $("totp-enrol").hidden = false;
    showError($("error"), errorMessage(setup));
  }
}

async function onDisable(event) {
  event.preventDefault();
  const result = await http.totpDisable($("totp-disable-password").value);
  $("totp-disable-password").value = "";
  if (!result.ok) return showError($("totp-disable-error"), errorMessage(result));
  showError($("totp-disable-error"), "");
  say(t("account.totp.disabled"));
  await renderTotp();
}

async function boot() {
  state.lang = await loadPageLanguage();
  translateDom();
  document.title = t("account.title");
  const session = await http.me();
  if (!session.ok || session.data.state !== "signed_in") return showSignedOut(VIEWS);
  state.me = session.data.staff;
  mountNav($("site-nav"), state.me.role, "/account/");
  $("whoami").textContent = t("staff.signed_in_as", {
    alias: state.me.alias,
    name: state.me.display_name || state.me.username,
  });
  for (const id of ["sessions-title", "totp-title"]) $(id).tabIndex = -1;
  $("password-form").addEventListener("submit", onPassword);
  $("totp-enrol").addEventListener("click", onEnrol);
  $("totp-disable-form").addEventListener("submit", onDisable);
  await Promise.all([renderTotp(), renderSessions()]);
  showOnly(VIEWS, "account-view");
}

boot();
