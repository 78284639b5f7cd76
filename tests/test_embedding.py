"""Who may embed the widget: frame-ancestors of /widget/ and the visitor socket's origin check."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import socketio

from chat_server.settings import SettingsError, load_settings
from tests.support.clients import Visitor
from tests.support.live import start_live, stop_live

HOST_SITE = "https://host.example"


async def test_widget_may_be_framed_only_by_configured_origins(tmp_path: Path) -> None:
    live = await start_live(tmp_path, server={"allowed_origins": [HOST_SITE]})
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{live.url}/widget/") as page:
                assert page.status == 200
                csp = page.headers["Content-Security-Policy"]
            directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";"))
            origins = {"'self'", live.settings.server.public_origin, HOST_SITE}
            assert set(directives["frame-ancestors"].split()) == origins
            for other in ("/console/", "/roster/"):
                async with http.get(f"{live.url}{other}") as page:
                    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"], other

        for origin in (HOST_SITE, live.settings.server.public_origin):
            allowed = Visitor(live.url, origin=origin)
            await allowed.connect()
            assert allowed.sio.connected and allowed.namespace in allowed.sio.namespaces
            await allowed.disconnect()
        for origin in ("https://evil.example", "https://host.example.evil.example", "http://host.example"):
            refused = Visitor(live.url, origin=origin)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect()
    finally:
        await stop_live(live)


def test_link_allowlist_takes_plain_host_names_only() -> None:
    settings = load_settings(overrides={"chat": {"link_allowlist": ["Example.ORG.", "www.example.org"]}}, use_env=False)
    assert settings.chat.link_allowlist == ("example.org", "www.example.org")
    assert load_settings(use_env=False).chat.link_allowlist == ()
    for bad in ("https://example.org", "example.org/help", "example.org:8443", "*.example.org", "", "-x.org"):
        with pytest.raises(SettingsError, match="link_allowlist"):
            load_settings(overrides={"chat": {"link_allowlist": [bad]}}, use_env=False)
