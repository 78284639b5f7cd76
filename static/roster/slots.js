// Managers' duty slots: the slots, their date exceptions and the members who
// can be assigned (loaded with each week), the list of slots with their edit
// forms, and the new-slot form.

import { t } from "../i18n/i18n.js";
import { api } from "../shared/api.js";
import { $, el } from "../shared/dom.js";
import { confirmAction } from "../shared/page.js";
import { change, errorText, showError } from "./changes.js";
import { context } from "./context.js";
import { keepOpen } from "./fields.js";
import { slotBody, slotFields, slotSummary } from "./slot-form.js";

const manager = {
  slots: [],
  exceptions: [],
  staff: [], // members not disabled
};

export async function loadManagerData() {
  if (!context.manager) return;
  const [slots, staff] = await Promise.all([api("GET", "/api/roster/slots"), api("GET", "/api/staff")]);
  if (slots.ok) {
    manager.slots = slots.data.slots || [];
    manager.exceptions = slots.data.exceptions || [];
  } else {
    showError(errorText(slots.error));
  }
  if (staff.ok) manager.staff = (staff.data.staff || []).filter((s) => !s.disabled);
}

export function activeStaff() {
  return manager.staff;
}

export function exceptionFor(slotId, day) {
  return manager.exceptions.find((e) => e.slot_id === slotId && e.date === day) || null;
}

export function slotNote(slotId) {
  const slot = manager.slots.find((s) => s.id === slotId);
  return slot ? slot.note : "";
}

export function installNewSlotForm() {
  const formNode = $("new-slot");
  let form = slotFields(null, "new");
  const submit = el("button", { type: "submit", class: "btn btn-primary", text: t("roster.slot.create") });
  formNode.replaceChildren(...form.nodes, el("div", { class: "actions" }, submit));
  formNode.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { body, error } = slotBody(form, true);
    if (error) return showError(error);
    const ok = await change(
      () => api("POST", "/api/roster/slots", body),
      (data) => t("roster.status.slot_created", { slot: slotSummary(data.slot) }),
    );
    if (ok) {
      form = slotFields(null, "new");
      formNode.replaceChildren(...form.nodes, el("div", { class: "actions" }, submit));
    }
  });
}

export function renderSlots() {
  $("slots-empty").hidden = manager.slots.length > 0;
  $("slot-list").replaceChildren(...manager.slots.map(renderSlot));
}

function renderSlot(slot) {
  const key = `slot:${slot.id}`;
  const form = slotFields(slot, `slot-${slot.id}`);
  const formNode = el(
    "form",
    {
      class: "slot-form",
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        const { body, error } = slotBody(form, false);
        if (error) return showError(error);
        change(
          () => api("PATCH", `/api/roster/slots/${slot.id}`, body),
          (data) => t("roster.status.slot_saved", { moved: data.moved || 0, removed: data.removed || 0 }),
          key,
        );
      },
    },
    ...form.nodes,
    el("div", { class: "actions" }, el("button", { type: "submit", class: "btn btn-primary", text: t("roster.slot.save") })),
  );
  const summary = slotSummary(slot);
  const exceptions = manager.exceptions
    .filter((e) => e.slot_id === slot.id)
    .map((e) =>
      e.cancelled
        ? t("roster.slot.exception_cancelled", { date: e.date })
        : t("roster.slot.exception_times", { date: e.date, times: `${e.start || slot.start}–${e.end || slot.end}` }),
    );
  return el(
    "li",
    { class: "slot" },
    el("p", { class: "slot-summary", tabindex: "-1", dataset: { focus: key }, text: summary }),
    slot.note ? el("p", { class: "occ-note", text: slot.note }) : null,
    exceptions.length ? el("p", { class: "muted slot-exceptions", text: t("roster.slot.exceptions", { list: exceptions.join(", ") }) }) : null,
    keepOpen(el("details", { class: "slot-edit" }, el("summary", { text: t("roster.slot.edit") }), formNode), key),
    el(
      "div",
      { class: "actions" },
      el("button", {
        type: "button",
        class: "btn btn-danger",
        text: t("roster.slot.retire"),
        "aria-label": t("roster.slot.retire_label", { slot: summary }),
        onclick: async () => {
          if (!(await confirmAction(t("roster.confirm.retire", { slot: summary }), t("roster.slot.retire")))) return;
          change(
            () => api("DELETE", `/api/roster/slots/${slot.id}`),
            (data) => t("roster.status.slot_retired", { removed: data.removed || 0 }),
            "slots-title",
          );
        },
      }),
    ),
  );
}
