"""Real-browser test of the staff administration page (/staff/) and the shared navigation.

A manager follows the console's Staff link, adds a member with the keyboard
alone and hands over the one-time password, edits a member's languages,
resets a password and disables a member; axe-core finds no serious or
critical violation on the page and in its dialogs; a staff member sees
neither the page nor its link. Screenshots: test-artifacts/screenshots/staff-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from chat_server.accounts import Role
from tests.browser import browser, console_login, scene, screenshots  # noqa: F401 - fixtures
from tests.support.http import Http
from tests.support.live import Live
from tests.support.paths import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def watch_errors(page: Page, errors: list[str], who: str) -> None:
    def on_console(message: ConsoleMessage) -> None:
        # A manager page answers 401/403 to those who may not open it; the browser logs that.
        if message.type == "error" and "status of 40" not in message.text:
            errors.append(f"{who}: console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{who}: page error: {exc}"))


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now.

    The page's CSP (script-src 'self') refuses an injected <script> tag, and it
    stays on: axe-core is loaded as an init script of the context instead
    (see `with_axe`), which the CSP does not govern.
    """
    assert await page.evaluate("typeof window.axe !== 'undefined'"), "the context was not made with_axe"
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def with_axe(context: Any) -> None:
    assert AXE.is_file(), "run `make deps`: axe-core comes from npm"
    await context.add_init_script(path=str(AXE))


MANAGER_NAV = ["Chat console", "Roster", "Activities", "Reports", "Staff", "Safety text", "Peer groups", "Account"]


async def nav_links(page: Page) -> list[str]:
    return await page.locator("#site-nav a").all_inner_texts()


async def can_log_in(live: Live, username: str, password: str) -> bool:
    async with Http(live) as http:
        reply = await http.call("POST", "/api/auth/login", {"username": username, "password": password})
        return reply.status == 200


async def test_manager_administers_staff(tmp_path: Path, browser: Browser, screenshots: Path) -> None:
    async with scene("staff", tmp_path, browser) as s:
        live = s.live
        await live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        await live.add_staff("aino", alias="Aino", shift=False)
        errors: list[str] = []

        # ---- a staff member: no Staff link, and the page says it is for managers
        staff = await s.page()
        await console_login(staff, live, "aino", check_in=False)
        assert await nav_links(staff) == ["Chat console", "Roster", "Activities", "Peer groups", "Account"]
        watch_errors(staff, errors, "aino")
        await staff.goto(f"{live.url}/staff/")
        await expect(staff.locator("#forbidden")).to_be_visible()
        await expect(staff.locator("#staff-view")).to_be_hidden()
        assert await nav_links(staff) == ["Chat console", "Roster", "Activities", "Peer groups", "Account"]

        # ---- the manager follows the console's navigation
        context = await s.context(permissions=["clipboard-read", "clipboard-write"])
        await with_axe(context)
        page = await context.new_page()
        await console_login(page, live, "mia", check_in=False)
        assert await nav_links(page) == MANAGER_NAV
        await expect(page.locator("#site-nav a[aria-current=page]")).to_have_text("Chat console")
        watch_errors(page, errors, "mia")
        await page.get_by_role("link", name="Staff").click()
        await expect(page).to_have_url(re.compile(r"/staff/$"))
        await expect(page.locator("#staff-view")).to_be_visible()
        await expect(page.locator("#site-nav a[aria-current=page]")).to_have_text("Staff")
        rows = page.locator("#member-rows tr")
        await expect(rows).to_have_count(2)
        await expect(page.locator("#member-rows tr", has_text="aino")).to_contain_text("Finnish, English")
        # Nobody disables or resets themselves: no such buttons on one's own row.
        own = page.locator("#member-rows tr", has_text="(you)")
        await expect(own.get_by_role("button")).to_have_text(["Edit"])
        # Managers may not grant admin.
        assert await page.locator("#add-role option").all_inner_texts() == ["Staff", "Manager", "Peer leader"]
        assert await axe_violations(page) == []
        await page.screenshot(path=screenshots / "staff-1-list.png", full_page=True)

        # ---- add a member with the keyboard alone
        await page.locator("#add-username").focus()
        await page.keyboard.type("leo")
        await page.keyboard.press("Tab")
        await page.keyboard.type("Leo Example")
        await page.keyboard.press("Tab")
        await page.keyboard.type("Leo")
        await page.keyboard.press("Tab")  # role: Staff
        await page.keyboard.press("Tab")  # Finnish
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")  # Swedish
        await page.keyboard.press("Tab")  # English
        await page.keyboard.press("Space")
        # The other offered languages (Russian, Thai, ...), then the chats-at-once field.
        offered = await page.locator("#add-form input[type=checkbox]").count()
        for _ in range(offered - 3 + 1):
            await page.keyboard.press("Tab")
        await expect(page.locator("#add-max-chats")).to_be_focused()
        await page.keyboard.type("2")
        await page.keyboard.press("Tab")  # password: empty, one is generated
        await page.keyboard.press("Tab")
        await expect(page.locator("#add-submit")).to_be_focused()
        await page.keyboard.press("Enter")
        dialog = page.locator("#password-dialog")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#password-text")).to_contain_text("leo")
        await expect(page.locator("#password-value")).to_be_focused()
        password = await page.locator("#password-value").input_value()
        assert len(password) >= 16
        assert await axe_violations(page) == []
        await page.screenshot(path=screenshots / "staff-2-one-time-password.png")
        await page.keyboard.press("Tab")
        await expect(page.locator("#password-copy")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#password-copied")).to_have_text("Copied.")
        assert await page.evaluate("navigator.clipboard.readText()") == password
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")  # Done
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#add-username")).to_be_focused()
        await expect(page.locator("#status")).to_have_text("leo was added.")
        leo_row = page.locator("#member-rows tr", has_text="leo")
        await expect(leo_row).to_contain_text("Leo Example (leo)")
        await expect(leo_row).to_contain_text("Finnish, English")
        await expect(leo_row.locator("td.num")).to_have_text("2")
        assert await can_log_in(live, "leo", password)
        # The password is shown once: it is nowhere in the page any more.
        assert password not in await page.content()

        # ---- edit a member's languages
        aino_row = page.locator("#member-rows tr", has_text="aino")
        await aino_row.get_by_role("button", name="Edit aino").click()
        edit = page.locator("#edit-dialog")
        await expect(edit).to_be_visible()
        await expect(edit.get_by_label("Finnish")).to_be_checked()
        await edit.get_by_label("Finnish").uncheck()
        await edit.get_by_label("Swedish").check()
        assert await axe_violations(page) == []
        await page.screenshot(path=screenshots / "staff-3-edit.png")
        await edit.get_by_role("button", name="Save changes").click()
        await expect(edit).to_be_hidden()
        await expect(page.locator("#status")).to_have_text("Changes to aino were saved.")
        await expect(aino_row).to_contain_text("Swedish, English")
        # Focus returns to the button that opened the dialog.
        await expect(aino_row.get_by_role("button", name="Edit aino")).to_be_focused()

        # ---- reset a password
        await aino_row.get_by_role("button", name="Reset password of aino").click()
        await expect(page.locator("#confirm-dialog")).to_be_visible()
        await page.locator("#confirm-yes").click()
        await expect(dialog).to_be_visible()
        fresh = await page.locator("#password-value").input_value()
        await page.get_by_role("button", name="Done").click()
        await expect(dialog).to_be_hidden()
        assert await can_log_in(live, "aino", fresh)
        # The staff member's own page lost its session at once.
        await staff.reload()
        await expect(staff.locator("#signed-out")).to_be_visible()

        # ---- disable a member
        await aino_row.get_by_role("button", name="Disable aino").click()
        await expect(page.locator("#confirm-text")).to_contain_text("Disable aino?")
        await page.locator("#confirm-yes").click()
        await expect(aino_row).to_contain_text("Disabled")
        await expect(aino_row.get_by_role("button", name="Enable aino")).to_be_visible()
        await expect(page.locator("#status")).to_have_text("aino was disabled and signed out.")
        assert not await can_log_in(live, "aino", fresh)
        assert await axe_violations(page) == []
        await page.screenshot(path=screenshots / "staff-4-disabled.png", full_page=True)

        # ---- the roster page carries the same navigation
        await page.goto(f"{live.url}/roster/")
        await expect(page.locator("#roster-view")).to_be_visible()
        assert await nav_links(page) == MANAGER_NAV
        await expect(page.locator("#site-nav a[aria-current=page]")).to_have_text("Roster")

        # Still usable on a phone width: the table scrolls inside its box, not the page.
        await page.goto(f"{live.url}/staff/")
        await expect(page.locator("#staff-view")).to_be_visible()
        await page.set_viewport_size({"width": 360, "height": 780})
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        # Stacked: no member's row needs sideways scrolling either.
        assert await page.evaluate("document.querySelector('.table-wrap').scrollWidth") <= 360
        await expect(page.locator("#member-rows tr", has_text="leo").locator("td").first).to_have_text("Leo")
        assert await axe_violations(page) == []
        await page.screenshot(path=screenshots / "staff-5-360.png", full_page=True)
        assert errors == []


async def test_cancelled_confirmation_returns_focus_to_its_opener(tmp_path: Path, browser: Browser) -> None:
    """The staff page's confirm dialog, by keyboard or by button, gives focus back to what opened it."""
    async with scene("staff-confirm", tmp_path, browser) as s:
        live = s.live
        await live.add_staff("mia", alias="Mia", role=Role.MANAGER, shift=False)
        await live.add_staff("aino", alias="Aino", shift=False)
        errors: list[str] = []
        page = await s.page()
        await console_login(page, live, "mia", check_in=False)
        watch_errors(page, errors, "mia")
        await page.goto(f"{live.url}/staff/")
        await expect(page.locator("#staff-view")).to_be_visible()
        aino_row = page.locator("#member-rows tr", has_text="aino")
        dialog = page.locator("#confirm-dialog")

        # Keyboard: Enter opens the dialog on "Cancel", Escape closes it.
        disable = aino_row.get_by_role("button", name="Disable aino")
        await disable.focus()
        await page.keyboard.press("Enter")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#confirm-no")).to_be_focused()
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(disable).to_be_focused()
        await expect(aino_row).to_contain_text("Active")

        # Mouse: the dialog's own Cancel button.
        reset = aino_row.get_by_role("button", name="Reset password of aino")
        await reset.click()
        await expect(page.locator("#confirm-text")).to_contain_text("aino")
        await page.locator("#confirm-no").click()
        await expect(dialog).to_be_hidden()
        await expect(reset).to_be_focused()
        await expect(page.locator("#password-dialog")).to_be_hidden()
        await expect(page.locator("#status")).to_have_text("")
        assert errors == []
