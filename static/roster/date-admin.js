// Managers' changes to one duty date: its times, a note, cancelling and
// restoring it, assigning a member and removing one.

import { t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { el } from "../shared/dom.js";
import { confirmAction } from "../shared/page.js";
import { change, showError } from "./changes.js";
import { field, keepOpen } from "./fields.js";
import { dayText, localHHMM, personText } from "./format.js";
import { activeStaff } from "./slots.js";

const datePath = (occ) => `/api/roster/slots/${occ.slot_id}/dates/${occ.date}`;

export function removeButton(occ, person, when, key) {
  return el("button", {
    type: "button",
    class: "btn btn-small btn-danger",
    text: t("roster.manage.remove"),
    "aria-label": t("roster.manage.remove_label", { person: person.alias, when }),
    onclick: () => removeAssignment(occ, person, when, key),
  });
}

async function removeAssignment(occ, person, when, key) {
  if (!(await confirmAction(t("roster.confirm.remove", { person: person.alias, when }), t("roster.manage.remove")))) return;
  change(
    () => api("DELETE", `${datePath(occ)}/staff/${person.staff_id}`),
    t("roster.status.removed", { person: person.alias, when }),
    key,
  );
}

export function renderDateManager(occ, key, when, exception, over) {
  const body = el("div", { class: "occ-manage-body" });
  // One optional note for this date, sent with "cancel" and "change times".
  const note = el("input", { type: "text", maxlength: "500", value: exception ? exception.note : "" });
  const withNote = (payload) => (note.value.trim() ? { ...payload, note: note.value.trim() } : payload);
  body.append(field(t("roster.manage.date_note"), note, "field-wide"));

  if (!occ.cancelled) {
    body.append(timesForm(occ, key, withNote));
    const candidates = activeStaff().filter((s) => !occ.staff.some((p) => p.staff_id === s.id));
    if (candidates.length && !over) body.append(assignForm(occ, key, when, candidates));
  }

  const buttons = el("div", { class: "actions" });
  if (!occ.cancelled) {
    buttons.append(
      el("button", {
        type: "button",
        class: "btn btn-danger",
        text: t("roster.manage.cancel_date"),
        onclick: async () => {
          const text = occ.staff.length ? t("roster.confirm.cancel_date_staffed", { when }) : t("roster.confirm.cancel_date", { when });
          if (!(await confirmAction(text, t("roster.manage.cancel_date")))) return;
          change(() => api("PUT", datePath(occ), withNote({ cancelled: true })), t("roster.status.cancelled", { when }), key);
        },
      }),
    );
  }
  if (exception || occ.cancelled) {
    buttons.append(
      el("button", {
        type: "button",
        class: "btn btn-secondary",
        text: t("roster.manage.restore"),
        onclick: () =>
          change(() => api("DELETE", datePath(occ)), t("roster.status.restored", { when: dayText(occ.date) }), key),
      }),
    );
  }
  body.append(buttons);

  const details = el(
    "details",
    { class: "occ-manage" },
    el("summary", { text: t("roster.manage.this_date") }),
    body,
  );
  return keepOpen(details, `occ:${key}`);
}

function timesForm(occ, key, withNote) {
  const start = el("input", { type: "time", required: true, value: localHHMM(occ.starts_at) });
  const end = el("input", { type: "time", required: true, value: localHHMM(occ.ends_at) });
  return el(
    "form",
    {
      class: "inline-form",
      onsubmit: (event) => {
        event.preventDefault();
        if (!start.value || !end.value) return showError(t("roster.error.times_required"));
        change(
          () => api("PUT", datePath(occ), withNote({ start: start.value, end: end.value })),
          (data) => t("roster.status.times_changed", { when: dayText(occ.date), removed: data.removed || 0 }),
          key,
        );
      },
    },
    field(t("roster.manage.start"), start),
    field(t("roster.manage.end"), end),
    el("button", { type: "submit", class: "btn btn-secondary", text: t("roster.manage.change_times") }),
  );
}

function assignForm(occ, key, when, candidates) {
  const select = el(
    "select",
    { required: true },
    ...candidates.map((s) => el("option", { value: String(s.id), text: personText(s) })),
  );
  return el(
    "form",
    {
      class: "inline-form",
      onsubmit: (event) => {
        event.preventDefault();
        const person = candidates.find((s) => String(s.id) === select.value);
        if (!person) return;
        change(
          () => api("POST", `${datePath(occ)}/staff`, { staff_id: person.id }),
          t("roster.status.assigned", { person: person.alias, when }),
          key,
        );
      },
    },
    field(t("roster.manage.staff_member"), select),
    el("button", { type: "submit", class: "btn btn-secondary", text: t("roster.manage.assign") }),
  );
}
