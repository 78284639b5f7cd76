"""Playwright helpers for the real-browser tests (tests/test_browser.py).

Debian's chromium drives the pages; nothing is downloaded. A missing chromium is
a failure, never a skip. Each role (staff console, visitor) gets its own browser
context, so cookies, localStorage and sessionStorage are never shared between them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Frame, FrameLocator, Page, async_playwright, expect

from tests.support.live import PASSWORD, Live, start_live, stop_live
from tests.support.paths import ARTIFACTS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ARTIFACTS / "screenshots"
TIMEOUT_MS = 10_000
NEUTRAL_URL = "https://neutral.example/"
NEUTRAL_PAGE = "<!doctype html><html><head><title>Neutral</title></head><body><p>Weather today</p></body></html>"

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.is_file(), (  # noqa: ASYNC240 - one stat before the browser starts
        f"{CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install chromium)"
    )
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


async def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A fresh context (own cookies and storage) with the neutral quick-exit host routed locally."""
    options.setdefault("viewport", {"width": 1100, "height": 800})
    context = await browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)

    async def neutral(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=NEUTRAL_PAGE)

    await context.route("https://neutral.example/**", neutral)
    return context


@dataclass
class Scene:
    """A live server plus the browser contexts of one test (one per role)."""

    live: Live
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    async def context(self, **options: Any) -> BrowserContext:
        context = await new_context(self.browser, **options)
        self.contexts.append(context)
        return context

    async def page(self, **options: Any) -> Page:
        """A page in a context of its own (a new role)."""
        return await (await self.context(**options)).new_page()


@asynccontextmanager
async def scene(name: str, tmp_path: Path, browser: Browser, **sections: Any) -> AsyncIterator[Scene]:
    """Start the app, yield a Scene; on failure keep a screenshot of every open page."""
    live = await start_live(tmp_path, **sections)
    current = Scene(live, browser)
    try:
        yield current
    except BaseException:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        n = 0
        for context in current.contexts:
            for page in context.pages:
                n += 1
                try:
                    await page.screenshot(path=SCREENSHOTS / f"FAILED-{name}-{n}.png", timeout=3000)
                except Exception:
                    pass
        raise
    finally:
        for context in current.contexts:
            await context.close()
        await stop_live(live)


# ---------------------------------------------------------------- staff console


async def console_login(page: Page, live: Live, username: str, *, check_in: bool = True) -> None:
    await page.goto(f"{live.url}/console/")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await expect(page.locator("#desk-view")).to_be_visible()
    if check_in:
        await expect(page.locator("#check-in")).to_be_enabled()
        await page.click("#check-in")
        await expect(page.locator("#duty-available")).to_have_text("Yes")


def console_panel(page: Page):  # type: ignore[no-untyped-def]
    """The selected chat's panel in the console."""
    return page.locator("#panels .chat-panel:not([hidden])")


async def console_reply(page: Page, text: str) -> None:
    panel = console_panel(page)
    await panel.locator(".composer textarea").fill(text)
    await panel.locator(".composer textarea").press("Enter")
    await expect(panel.locator("li.msg-own .msg-text", has_text=text).last).to_be_visible()


async def console_end_chat(page: Page, *, already_ended: bool = False) -> str:
    """End (or tag) the selected chat with its first topic; returns the topic code."""
    dialog = page.locator("#end-dialog")
    if not await dialog.is_visible():
        # An active chat's "End chat" in its header, or an ended chat's "Tag topics" in its banner.
        await console_panel(page).locator("button.chat-end:visible").click()
    await expect(dialog).to_be_visible()
    title = "Tag topics" if already_ended else "End chat with"
    await expect(page.locator("#end-title")).to_contain_text(title)
    box = dialog.locator("input[name=topic]").first
    code = await box.get_attribute("value")
    assert code
    await box.check()
    await page.click("#end-submit")
    await expect(dialog).to_be_hidden()
    return code


# ---------------------------------------------------------------- visitor widget


async def open_demo_widget(page: Page, live: Live) -> FrameLocator:
    """Open /demo/, click the launcher, and return the widget's iframe."""
    await page.goto(f"{live.url}/demo/")
    launcher = page.locator("button[aria-controls^='dutychat-panel-']")
    await expect(launcher).to_have_text("Chat")
    await launcher.click()
    await expect(launcher).to_have_attribute("aria-expanded", "true")
    await expect(launcher).to_have_text("Close chat")
    frame = page.frame_locator("iframe[title='Anonymous chat']")
    await expect(frame.locator("#view-loading")).to_be_hidden()
    return frame


async def widget_frame(page: Page) -> Frame:
    """The widget iframe of the demo page as a Frame (for evaluate)."""
    handle = await page.locator("iframe[title='Anonymous chat']").element_handle()
    assert handle is not None
    frame = await handle.content_frame()
    assert frame is not None
    return frame


async def widget_start(widget: Page | FrameLocator, alias: str) -> None:
    await widget.locator("#start").click()
    await expect(widget.locator("#chat-status")).to_have_text(f"You are chatting with {alias}.")
    await expect(widget.locator("#message")).to_be_visible()


async def widget_send(widget: Page | FrameLocator, text: str) -> None:
    await widget.locator("#message").fill(text)
    await widget.locator("#message").press("Enter")
    sent = widget.locator("#log li.msg-own").filter(has=widget.locator(".msg-text", has_text=text))
    await expect(sent.locator(".msg-state").last).to_have_text("Sent")
