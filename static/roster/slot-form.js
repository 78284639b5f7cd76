// The form of a duty slot (new or edited), its request body, and its one-line summary.

import { t } from "../i18n/i18n.js";
import { el } from "../shared/dom.js";
import { context } from "./context.js";
import { field } from "./fields.js";
import { dayText, languageName, languagesText, weekdayName } from "./format.js";

// The fields of a slot form; `slot` fills them for editing (null: a new slot).
export function slotFields(slot, idPrefix) {
  const isNew = !slot;
  const f = {};
  f.kindWeekly = el("input", { type: "radio", name: `${idPrefix}-kind`, value: "weekly", checked: isNew || slot.kind === "weekly" });
  f.kindOnce = el("input", { type: "radio", name: `${idPrefix}-kind`, value: "once", checked: !isNew && slot.kind === "once" });
  f.weekday = el(
    "select",
    {},
    ...[0, 1, 2, 3, 4, 5, 6].map((i) =>
      el("option", { value: String(i), text: weekdayName(i), selected: slot && slot.weekday === i }),
    ),
  );
  f.date = el("input", { type: "date", value: slot && slot.date ? slot.date : "" });
  f.start = el("input", { type: "time", required: true, value: slot ? slot.start : "" });
  f.end = el("input", { type: "time", required: true, value: slot ? slot.end : "" });
  f.needed = el("input", { type: "number", min: "1", max: "50", step: "1", required: true, value: String(slot ? slot.needed : 1), inputmode: "numeric" });
  f.languages = context.offered.map((code) =>
    el("input", { type: "checkbox", value: code, checked: slot ? slot.languages.includes(code) : false }),
  );
  f.validFrom = el("input", { type: "date", value: slot && slot.valid_from ? slot.valid_from : "" });
  f.validUntil = el("input", { type: "date", value: slot && slot.valid_until ? slot.valid_until : "" });
  f.note = el("input", { type: "text", maxlength: "500", value: slot ? slot.note : "" });

  const weeklyOnly = el(
    "div",
    { class: "form-row" },
    field(t("roster.slot.weekday"), f.weekday),
    field(t("roster.slot.valid_from"), f.validFrom),
    field(t("roster.slot.valid_until"), f.validUntil),
  );
  const onceOnly = el("div", { class: "form-row" }, field(t("roster.slot.date"), f.date));
  const sync = () => {
    const weekly = f.kindWeekly.checked;
    weeklyOnly.hidden = !weekly;
    onceOnly.hidden = weekly;
  };
  f.kindWeekly.addEventListener("change", sync);
  f.kindOnce.addEventListener("change", sync);
  sync();

  const nodes = [];
  if (isNew) {
    nodes.push(
      el(
        "fieldset",
        { class: "choice" },
        el("legend", { text: t("roster.slot.kind") }),
        el("label", { class: "check" }, f.kindWeekly, el("span", { text: t("roster.slot.kind_weekly") })),
        el("label", { class: "check" }, f.kindOnce, el("span", { text: t("roster.slot.kind_once") })),
      ),
    );
  }
  if (isNew || slot.kind === "weekly") nodes.push(weeklyOnly);
  if (isNew || slot.kind === "once") nodes.push(onceOnly);
  nodes.push(
    el(
      "div",
      { class: "form-row" },
      field(t("roster.slot.start"), f.start),
      field(t("roster.slot.end"), f.end),
      field(t("roster.slot.needed"), f.needed, "field-narrow"),
    ),
    el(
      "fieldset",
      { class: "choice" },
      el("legend", { text: t("roster.slot.languages") }),
      ...f.languages.map((box) => el("label", { class: "check" }, box, el("span", { text: languageName(box.value) }))),
    ),
    field(t("roster.slot.note"), f.note, "field-wide"),
  );
  return { f, nodes, kind: () => (isNew ? (f.kindWeekly.checked ? "weekly" : "once") : slot.kind) };
}

// The request body of a slot form, or an error text.
export function slotBody(form, isNew) {
  const { f } = form;
  const kind = form.kind();
  if (!f.start.value || !f.end.value) return { error: t("roster.error.times_required") };
  const needed = Number(f.needed.value);
  if (!Number.isInteger(needed) || needed < 1 || needed > 50) return { error: t("roster.error.needed") };
  const body = {
    start: f.start.value,
    end: f.end.value,
    needed,
    languages: f.languages.filter((box) => box.checked).map((box) => box.value),
    note: f.note.value.trim(),
  };
  if (kind === "weekly") {
    body.weekday = Number(f.weekday.value);
    if (f.validFrom.value) body.valid_from = f.validFrom.value;
    if (f.validUntil.value) body.valid_until = f.validUntil.value;
    else if (!isNew) body.valid_until = null;
  } else {
    if (!f.date.value) return { error: t("roster.error.date_required") };
    body.date = f.date.value;
  }
  if (isNew) body.kind = kind;
  return { body };
}

export function slotSummary(slot) {
  const times = `${slot.start}–${slot.end}`;
  const when =
    slot.kind === "weekly"
      ? t("roster.slot.summary_weekly", { weekday: weekdayName(slot.weekday), times })
      : t("roster.slot.summary_once", { date: dayText(slot.date, { weekday: "long", day: "numeric", month: "long", year: "numeric" }), times });
  const parts = [when, t("roster.occ.needed", { n: slot.needed }), languagesText(slot.languages)];
  if (slot.kind === "weekly") {
    parts.push(
      slot.valid_until
        ? t("roster.slot.valid_range", { from: slot.valid_from, until: slot.valid_until })
        : t("roster.slot.valid_open", { from: slot.valid_from }),
    );
  }
  return parts.join(" · ");
}
