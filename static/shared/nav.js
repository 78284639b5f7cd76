// Navigation between the staff pages (console, roster, reports, staff
// administration), shared by each of them. It lists only the pages the
// signed-in member's role may open; the server checks the role again anyway.

import { t } from "../i18n/i18n.js";
import { el } from "./dom.js";

const EVERYONE = ["staff", "manager", "admin"];
const MANAGERS = ["manager", "admin"];

export const PAGES = [
  // A peer leader's console is the peer group moderator view only (console/groups.js).
  { href: "/console/", key: "nav.console", roles: [...EVERYONE, "peer"] },
  { href: "/roster/", key: "nav.roster", roles: EVERYONE },
  { href: "/activities/", key: "nav.activities", roles: EVERYONE },
  { href: "/reports/", key: "nav.reports", roles: MANAGERS },
  { href: "/staff/", key: "nav.staff", roles: MANAGERS },
  { href: "/safety/", key: "nav.safety", roles: MANAGERS },
  { href: "/groups/", key: "nav.groups", roles: [...EVERYONE, "peer"] },
  { href: "/account/", key: "nav.account", roles: [...EVERYONE, "peer"] },
];

export function pagesFor(role) {
  return PAGES.filter((page) => page.roles.includes(role));
}

// Fill `nav` (a <nav> with an accessible name) with the links `role` may
// follow; the link of `current` (a path such as "/roster/") is marked as the
// current page.
export function mountNav(nav, role, current) {
  if (!nav) return;
  nav.replaceChildren(
    ...pagesFor(role).map((page) =>
      el("a", {
        href: page.href,
        class: "topnav-link",
        "aria-current": page.href === current ? "page" : null,
        text: t(page.key),
      }),
    ),
  );
}
