"""Nothing of a chat reaches the visitor's disk: a real Chromium profile is scanned after a chat and quick exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS, NEUTRAL_PAGE, NEUTRAL_URL, TIMEOUT_MS, widget_send, widget_start
from tests.support.http_proxy import NoWebSocketProxy
from tests.support.live import start_live, stop_live

pytestmark = pytest.mark.browser

VISITOR_CANARY = "canary-visitor-7f3a9c1e"
STAFF_CANARY = "canary-staff-2b8d4e6f"


def _found_on_disk(root: Path, needle: str) -> list[str]:
    """Files under root holding needle as UTF-8, UTF-16 (how Chromium keeps DOM storage) or Latin-1."""
    forms = {needle.encode(), needle.encode("utf-16-le")}
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(form in data for form in forms):
                hits.append(str(path.relative_to(root)))
    return hits


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_chat_leaves_nothing_in_the_chromium_profile(tmp_path: Path, transport: str) -> None:
    # Long-polling answers pass through the HTTP cache: a proxy that refuses
    # WebSockets, as some mobile networks do, forces the widget onto them.
    proxy = await NoWebSocketProxy().start()
    live = await start_live(
        tmp_path / "server", organisation={"quick_exit_url": NEUTRAL_URL}, server={"allowed_origins": [proxy.url]}
    )
    proxy.backend = live.url
    base = proxy.url if transport == "polling" else live.url
    profile = tmp_path / "profile"
    try:
        await live.add_staff("aino", alias="Aino")
        staff = await live.staff("aino")
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            )
            context.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)

            async def neutral(route) -> None:  # type: ignore[no-untyped-def]
                await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=NEUTRAL_PAGE)

            await context.route("https://neutral.example/**", neutral)
            page = await context.new_page()
            await page.goto(f"{base}/widget/")
            await widget_start(page, "Aino")
            await widget_send(page, VISITOR_CANARY)
            chat_id = (await staff.wait_for("chat:assigned"))["chat_id"]
            await staff.call("message:send", {"chat_id": chat_id, "client_id": "c1", "text": STAFF_CANARY})
            await expect(page.locator("#log li.msg-other .msg-text")).to_have_text([STAFF_CANARY])
            # A reload still shows the history: it comes from the server, not from the disk.
            await page.reload()
            await expect(page.locator("#log li.msg .msg-text")).to_have_text([VISITOR_CANARY, STAFF_CANARY])
            # Chromium commits DOM storage to disk a few seconds after a change, and a
            # visitor reads for longer than that before leaving.
            await page.wait_for_timeout(6000)
            await page.locator("#quick-exit").click()
            await page.wait_for_url(NEUTRAL_URL)
            await context.close()
        if transport == "polling":
            assert any("transport=polling" in path for path in proxy.forwarded)
        assert profile.is_dir() and any(profile.rglob("*"))
        for canary in (VISITOR_CANARY, STAFF_CANARY):
            assert _found_on_disk(profile, canary) == [], canary
    finally:
        await proxy.close()
        await stop_live(live)
