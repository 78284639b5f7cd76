// Duty roster page (docs/protocol.md §7): a week view of the roster with its
// gaps, sign-up and release for staff, the caller's own shifts and calendar
// feed, and for managers slot editing, date exceptions and assignments.
// This module boots the page and wires its parts:
//   week.js, occurrence.js   the week shown and each duty date in it
//   signup.js                staff signing up for and releasing a place
//   slots.js, slot-form.js   managers' duty slots and their forms
//   date-admin.js            managers' changes to one date
//   calendar.js              calendar feeds
//   on-call.js               the manager on call
//   changes.js               running a change, then loading everything again
//   groups.js                peer group sessions: a duty slot kind of their own (../groups/plan.js)

import { localeFor, t, translateDom } from "../i18n/i18n.js";
import { me as fetchMe, status as fetchStatus } from "../shared/api.js";
import { addDays, isDate, mondayOf } from "../shared/dates.js";
import { $ } from "../shared/dom.js";
import { loadPageLanguage } from "../shared/language.js";
import { mountNav } from "../shared/nav.js";
import { isManager } from "../shared/page.js";
import { renderCalendar } from "./calendar.js";
import { errorText, reload, setReload, showError, showSignedOut } from "./changes.js";
import { context } from "./context.js";
import { today } from "./format.js";
import { installGroups } from "./groups.js";
import { installOnCallForm, loadOnCall, renderOnCall } from "./on-call.js";
import { installNewSlotForm, loadManagerData, renderSlots } from "./slots.js";
import { loadWeek, renderCoverage, renderMine, renderWeek, setWeek, weekLoaded, weekStart } from "./week.js";

function render() {
  if (!weekLoaded()) return;
  renderWeek();
  renderCoverage();
  renderMine();
  renderOnCall();
  if (context.manager) renderSlots();
}

async function goToWeek(monday) {
  setWeek(monday);
  showError(null);
  await Promise.all([loadWeek(), loadOnCall()]);
  render();
}

async function boot() {
  const lang = await loadPageLanguage();
  context.locale = localeFor(lang);
  translateDom();
  document.title = t("roster.title");

  const session = await fetchMe();
  if (!session.ok) {
    if (session.status === 401) return showSignedOut();
    $("loading").hidden = true;
    return showError(errorText(session.error));
  }
  context.me = session.data.staff;
  context.manager = isManager(context.me.role);
  mountNav($("site-nav"), context.me.role, "/roster/");
  $("whoami").textContent = t("roster.signed_in_as", { alias: context.me.alias, name: context.me.display_name || context.me.username });

  const status = await fetchStatus();
  if (status.ok) {
    context.offered = Array.isArray(status.data.languages) ? status.data.languages : [];
    if (status.data.timezone) context.timezone = status.data.timezone;
  }
  const asked = new URLSearchParams(window.location.search).get("week");
  setWeek(mondayOf(isDate(asked) ? asked : today()), { inAddress: false });

  $("prev-week").addEventListener("click", () => goToWeek(addDays(weekStart(), -7)));
  $("next-week").addEventListener("click", () => goToWeek(addDays(weekStart(), 7)));
  $("this-week").addEventListener("click", () => goToWeek(mondayOf(today())));

  renderCalendar($("cal-own"), "own");
  if (context.manager) {
    $("manage").hidden = false;
    $("cal-all").hidden = false;
    renderCalendar($("cal-all"), "all");
    installNewSlotForm();
    installOnCallForm();
  }
  setReload(async () => {
    await Promise.all([loadWeek(), loadManagerData(), loadOnCall()]);
    render();
  });
  await reload();
  await installGroups(lang);
  $("loading").hidden = true;
  $("roster-view").hidden = false;
}

boot();
