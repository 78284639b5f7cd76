// The steps of a sign-in after the password (docs/protocol.md §6 login): the
// second-factor code, the forced change of a manager-issued password, and the
// enrolment of a second factor (with its recovery codes, shown once). The
// console shows them in its sign-in view; the account page reuses the
// enrolment. Each step's form is in the page (ids below) and keyboard-usable:
// it gets the focus when it shows, its error is announced (role="alert").

import { t } from "../i18n/i18n.js";
import * as http from "./api.js";
import { $, el } from "./dom.js";
import { showError } from "./page.js";

const STEPS = ["totp-form", "change-form", "enrol-form", "recovery-view"];

export function errorMessage(result) {
  const code = result.error && result.error.code;
  if (code === "too_many_attempts") return t("signin.error.wait", { seconds: String(result.retryAfter || 1) });
  if (code === "invalid_code") return t("signin.error.code");
  if (code === "weak_password") return t("signin.error.weak");
  if (code === "wrong_password") return t("signin.error.wrong_password");
  if (code === "network") return t("console.login.error_network");
  if (code === "unauthenticated") return t("console.login.session_ended");
  return t("console.login.error_other");
}

function show(id) {
  for (const step of STEPS) if ($(step)) $(step).hidden = step !== id;
}

export function hideSteps() {
  show(null);
}

// Show the enrolment form with a fresh secret and QR code (the server answers them once).
export async function startEnrolment() {
  const setup = await http.totpBegin();
  if (!setup.ok) return setup;
  // Made here and dropped after: the page holds no image (nor the key) outside this step.
  $("enrol-qr-box").replaceChildren(
    el("img", { id: "enrol-qr", class: "enrol-qr", src: setup.data.qr_svg, alt: t("signin.enrol.qr_alt"), width: "200", height: "200" }),
  );
  $("enrol-secret").textContent = setup.data.secret;
  $("enrol-code").value = "";
  showError($("enrol-error"), "");
  show("enrol-form");
  $("enrol-code").focus();
  return setup;
}

function showRecovery(codes, onContinue) {
  $("recovery-list").replaceChildren(...codes.map((code) => el("li", { text: code })));
  show("recovery-view");
  const button = $("recovery-continue");
  button.focus();
  button.addEventListener(
    "click",
    () => {
      $("recovery-list").replaceChildren();
      hideSteps();
      onContinue();
    },
    { once: true },
  );
}

// Drive a session from `reply` ({state, staff}) to signed_in, then call done(staff).
// `password` is the one just typed at sign-in (kept only here, for the forced change).
export function continueSignIn(reply, password, done) {
  let current = password || "";
  const forms = {};

  const step = async (next) => {
    if (next.state === "signed_in") {
      current = "";
      hideSteps();
      return done(next.staff);
    }
    if (next.state === "totp_required") {
      $("totp-code").value = "";
      showError($("totp-error"), "");
      show("totp-form");
      $("totp-code").focus();
    } else if (next.state === "password_change_required") {
      for (const id of ["change-current", "change-new", "change-repeat"]) $(id).value = "";
      $("change-current-row").hidden = Boolean(current);
      showError($("change-error"), "");
      show("change-form");
      $(current ? "change-new" : "change-current").focus();
    } else if (next.state === "totp_enrolment_required") {
      const setup = await startEnrolment();
      if (!setup.ok) showError($("login-error"), errorMessage(setup));
    }
  };

  forms.totp = async (event) => {
    event.preventDefault();
    const result = await http.secondFactor($("totp-code").value.trim());
    if (!result.ok) return showError($("totp-error"), errorMessage(result));
    step(result.data);
  };
  forms.change = async (event) => {
    event.preventDefault();
    const fresh = $("change-new").value;
    if (fresh !== $("change-repeat").value) return showError($("change-error"), t("signin.error.mismatch"));
    const result = await http.changePassword(current || $("change-current").value, fresh);
    if (!result.ok) return showError($("change-error"), errorMessage(result));
    current = "";
    for (const id of ["change-current", "change-new", "change-repeat"]) $(id).value = "";
    step(result.data);
  };
  bind("totp-form", forms.totp);
  bind("change-form", forms.change);
  bind("enrol-form", confirmEnrolment(step));
  return step(reply);
}

// The enrolment form's submit: a first code turns the second factor on, the
// recovery codes show once, and their Continue calls after(reply).
function confirmEnrolment(after) {
  return async (event) => {
    event.preventDefault();
    const result = await http.totpConfirm($("enrol-code").value.trim());
    if (!result.ok) return showError($("enrol-error"), errorMessage(result));
    $("enrol-qr-box").replaceChildren();
    $("enrol-secret").textContent = "";
    showRecovery(result.data.recovery_codes, () => after(result.data));
  };
}

// Set up a second factor from the account page; after() runs once it is on.
export async function enrol(after) {
  const setup = await startEnrolment();
  if (setup.ok) bind("enrol-form", confirmEnrolment(after));
  return setup;
}

const bound = new Map();

// One submit handler per form at a time (a new sign-in replaces the last one's).
function bind(id, handler) {
  const form = $(id);
  if (!form) return;
  if (bound.has(id)) form.removeEventListener("submit", bound.get(id));
  bound.set(id, handler);
  form.addEventListener("submit", handler);
}

