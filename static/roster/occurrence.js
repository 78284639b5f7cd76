// One duty occurrence (a slot on a date) or an extra shift in the week view:
// who is on it, what is missing, and the buttons the caller may use on it.

import { t } from "../i18n/i18n.js";
import { el } from "../shared/dom.js";
import { context } from "./context.js";
import { removeButton, renderDateManager } from "./date-admin.js";
import { dayText, languageName, languagesText, personText, rangeText } from "./format.js";
import { releaseButton, signUpButton } from "./signup.js";
import { exceptionFor, slotNote } from "./slots.js";

export function renderOccurrence(occ) {
  const key = `${occ.slot_id}:${occ.date}`;
  const range = rangeText(occ.starts_at, occ.ends_at);
  const when = `${dayText(occ.date)}, ${range}`;
  const me = context.me.id;
  const mine = occ.staff.find((s) => s.staff_id === me);
  const started = Date.parse(occ.starts_at) <= Date.now();
  const over = Date.parse(occ.ends_at) <= Date.now();
  const exception = context.manager ? exceptionFor(occ.slot_id, occ.date) : null;

  const classes = ["occ"];
  if (occ.cancelled) classes.push("occ-cancelled");
  else if (occ.missing > 0) classes.push("occ-gap");
  else classes.push("occ-full");
  if (mine) classes.push("occ-mine");

  const badges = el("p", { class: "occ-badges" });
  if (occ.cancelled) badges.append(el("span", { class: "badge-tag tag-cancelled", text: t("roster.occ.cancelled") }));
  else if (occ.missing > 0)
    badges.append(
      el("span", {
        class: "badge-tag tag-gap",
        text: occ.missing === 1 ? t("roster.occ.open_one") : t("roster.occ.open_many", { n: occ.missing }),
      }),
    );
  else badges.append(el("span", { class: "badge-tag tag-full", text: t("roster.occ.full") }));
  if (!occ.cancelled) {
    for (const code of occ.languages_uncovered || []) {
      badges.append(el("span", { class: "badge-tag tag-language-gap", text: t("roster.occ.language_gap", { language: languageName(code) }) }));
    }
  }
  if (mine) badges.append(el("span", { class: "badge-tag tag-mine", text: t("roster.occ.yours") }));
  if (exception && !exception.cancelled) badges.append(el("span", { class: "badge-tag", text: t("roster.occ.changed") }));

  const staffList = occ.staff.length
    ? el(
        "ul",
        { class: "occ-staff", "aria-label": t("roster.occ.staff_label") },
        ...occ.staff.map((person) =>
          el(
            "li",
            {},
            el("span", { class: "person", text: personText(person) }),
            person.staff_id === me ? el("span", { class: "muted", text: ` (${t("roster.occ.you")})` }) : null,
            context.manager ? removeButton(occ, person, when, key) : null,
          ),
        ),
      )
    : el("p", { class: "muted occ-nobody", text: occ.cancelled ? "" : t("roster.occ.nobody") });

  const actions = el("div", { class: "actions occ-actions" });
  if (!occ.cancelled && !over && !mine && occ.missing > 0) actions.append(signUpButton(occ, when, key));
  if (mine && !started) actions.append(releaseButton(occ, when, key));

  const meta = [
    t("roster.occ.needed", { n: occ.needed }),
    t("roster.occ.languages", { languages: languagesText(occ.languages) }),
  ].join(" · ");
  const note = occNote(occ);

  return el(
    "li",
    { class: classes.join(" "), dataset: { key } },
    el(
      "h4",
      { class: "occ-time", tabindex: "-1", dataset: { focus: key } },
      el("span", { class: "occ-range", text: range }),
    ),
    badges,
    el("p", { class: "occ-meta muted", text: meta }),
    note ? el("p", { class: "occ-note", text: note }) : null,
    staffList,
    actions.childElementCount ? actions : null,
    context.manager ? renderDateManager(occ, key, when, exception, over) : null,
  );
}

// The date's own note; managers also see the slot's note (the roster answer
// carries only the date's note, and staff cannot read slots).
function occNote(occ) {
  if (occ.note) return occ.note;
  return context.manager ? slotNote(occ.slot_id) : "";
}

export function renderExtra(shift) {
  const mine = shift.staff_id === context.me.id;
  return el(
    "li",
    { class: mine ? "occ occ-extra occ-mine" : "occ occ-extra" },
    el("h4", { class: "occ-time" }, el("span", { class: "occ-range", text: rangeText(shift.starts_at, shift.ends_at) })),
    el("p", { class: "occ-badges" }, el("span", { class: "badge-tag", text: t("roster.occ.extra") })),
    shift.note ? el("p", { class: "occ-note", text: shift.note }) : null,
    el("ul", { class: "occ-staff" }, el("li", { text: personText(shift) })),
  );
}
