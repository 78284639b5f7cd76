// Peer group sessions on the roster page (docs/protocol.md §13.4): a duty slot
// kind beside the shifts. Everyone sees the coming sessions and signs up to
// moderate; managers plan them (weekly or once, a title per language, places,
// languages). The same parts as the /groups/ page (../groups/plan.js); the
// room itself is moderated from the staff console.

import { t } from "../i18n/i18n.js";
import { $ } from "../shared/dom.js";
import { mountPlanning, mountSessions } from "../groups/plan.js";
import { announce, showError } from "./changes.js";
import { context } from "./context.js";

const PREFIX = "roster-group-";

export async function installGroups(lang) {
  const common = {
    prefix: PREFIX, level: 3, lang: () => lang, announce,
    showError: (code) => showError(t("console.group.error", { code })), clearError: () => showError(null),
  };
  const sessions = mountSessions({
    ...common, host: $("roster-groups-sessions"), me: () => context.me,
    onModerate: () => window.location.assign("/console/"),
  });
  if (context.manager) {
    mountPlanning({ ...common, host: $("roster-groups-plan"), languages: context.offered, onCreated: () => sessions.load() });
  }
  $("roster-groups").hidden = false;
  await sessions.load();
}
