"""The log formatters cannot carry user text, even when code makes a mistake."""

from __future__ import annotations

import io
import json
import logging

from chat_server.privacy import configure_logging
from chat_server.settings import LoggingSettings


def test_formatter_drops_arguments_unknown_extras_and_exception_messages() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="DEBUG", format="json"), stream=stream)
    try:
        log = logging.getLogger("some.library")
        log.info("user said %s", "SECRET-ARG")
        log.info("careless", extra={"text": "SECRET-EXTRA", "staff_id": 4})
        try:
            raise ValueError("SECRET-EXC")
        except ValueError:
            log.exception("failed")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.getLogger().handlers.clear()
    assert "SECRET" not in stream.getvalue()
    assert lines[0]["msg"] == "user said %s"
    assert lines[1]["staff_id"] == 4 and "text" not in lines[1]
    assert lines[2]["exception"].startswith("ValueError at test_privacy_unit.py:")


def test_text_format_is_safe_too() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="text"), stream=stream)
    try:
        logging.getLogger("x").warning("note %s", "SECRET-ARG", extra={"outcome": "answered"})
    finally:
        logging.getLogger().handlers.clear()
    assert "SECRET" not in stream.getvalue() and "outcome=answered" in stream.getvalue()


class _Request:
    """The two attributes of an aiohttp request that AddressHasher reads."""

    def __init__(self, remote: str | None, forwarded: str | None = None) -> None:
        from multidict import CIMultiDict

        self.remote = remote
        self.headers = CIMultiDict({"X-Forwarded-For": forwarded} if forwarded is not None else {})


async def test_address_hasher_peer_proxy_and_rotation() -> None:
    import ipaddress
    from datetime import date

    from chat_server.privacy import ADDRESS_KEY_TTL_SECONDS, AddressHasher
    from chat_server.store.memory import MemoryChatStore

    store = MemoryChatStore()
    day = date(2026, 11, 29)
    direct = AddressHasher((), "https://chat.example.org")
    assert direct.client_address(_Request("203.0.113.5")) == "203.0.113.5"
    # A header from a peer that is not a trusted proxy is ignored.
    assert direct.client_address(_Request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"
    # Behind a local proxy that is not trusted, every visitor would look alike: no address.
    assert direct.client_address(_Request("127.0.0.1")) is None
    assert await direct.hashes(_Request("127.0.0.1"), store, day) == []
    assert direct.client_address(_Request(None)) is None and direct.client_address(_Request("not-ip")) is None
    # A loopback public URL (development, tests) uses loopback peers.
    assert AddressHasher((), "http://127.0.0.1:8080").client_address(_Request("127.0.0.1")) == "127.0.0.1"

    proxied = AddressHasher((ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8")),
                            "https://chat.example.org")
    assert proxied.client_address(_Request("127.0.0.1", "203.0.113.5")) == "203.0.113.5"
    # The right-most address that is not a trusted proxy: what a client prepends does not count.
    assert proxied.client_address(_Request("127.0.0.1", "1.2.3.4, 203.0.113.5, 10.1.2.3")) == "203.0.113.5"
    assert proxied.client_address(_Request("127.0.0.1")) is None
    assert proxied.client_address(_Request("127.0.0.1", "10.0.0.1")) is None
    assert proxied.client_address(_Request("127.0.0.1", "garbage")) is None

    # Yesterday's key was made yesterday; the day before had none (no visitor then).
    yesterday = await proxied.hashes(_Request("127.0.0.1", "203.0.113.5"), store, date(2026, 11, 28))
    hashes = await proxied.hashes(_Request("127.0.0.1", "203.0.113.5"), store, day)
    assert len(hashes) == 2 == len(set(hashes))
    assert all("203.0.113.5" not in h and len(h) == 64 for h in hashes)
    # Yesterday's first hash is today's second: a block made yesterday is still found today.
    assert yesterday == hashes[1:]
    assert await direct.hashes(_Request("203.0.113.5"), store, day) == hashes  # same keys, same address
    assert await proxied.hashes(_Request("127.0.0.1", "203.0.113.6"), store, day) != hashes
    # The keys are random and live only in the store: another store (a restarted
    # Redis, another deployment with the same secret) cannot reproduce the hashes.
    assert await direct.hashes(_Request("203.0.113.5"), MemoryChatStore(), day) != hashes[:1]
    keys = await store.address_keys(["2026-11-29", "2026-11-28", "2026-11-27"], ADDRESS_KEY_TTL_SECONDS)
    assert keys[2] is None and all(len(k) == 64 for k in keys[:2])  # type: ignore[arg-type]


def test_trusted_proxies_and_block_minutes_are_checked() -> None:
    import pytest

    from chat_server.settings import SettingsError, load_settings

    good = load_settings(overrides={"server": {"trusted_proxies": ["127.0.0.1", "::1", "10.0.0.0/8"]}}, use_env=False)
    assert len(good.server.proxy_networks) == 3 and good.chat.block_minutes == 60
    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings(overrides={"server": {"trusted_proxies": ["nginx.local"]}}, use_env=False)
    with pytest.raises(SettingsError, match="block_minutes"):
        load_settings(overrides={"chat": {"block_minutes": 1441}}, use_env=False)


def test_a_librarys_ready_made_message_is_withheld_and_ours_kept() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    try:
        # engine.io builds the client's Origin into its message before logging it.
        logging.getLogger("engineio.server").error("http://SECRET-ORIGIN is not an accepted origin.")
        logging.getLogger("chat_server.chat").info("chat ended")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.getLogger().handlers.clear()
    assert "SECRET" not in stream.getvalue()
    assert lines[0]["msg"].startswith("(message withheld) at test_privacy_unit.py:")
    assert lines[1]["msg"] == "chat ended"


def test_configure_logging_removes_handlers_libraries_added() -> None:
    stream = io.StringIO()
    stray = io.StringIO()
    library = logging.getLogger("engineio.server")
    library.addHandler(logging.StreamHandler(stray))
    library.propagate = False
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    try:
        library.warning("refused %s", "SECRET")
    finally:
        logging.getLogger().handlers.clear()
    assert library.handlers == [] and library.propagate
    assert stray.getvalue() == ""
    assert json.loads(stream.getvalue())["msg"] == "refused %s"


def test_repeat_limit_lets_a_library_line_through_once_per_interval_with_a_count() -> None:
    from chat_server.privacy import RepeatLimit

    now = [100.0]
    limit = RepeatLimit(60.0, monotonic=lambda: now[0])
    library = logging.getLogger("aiohttp.server")

    def record(name: str = "aiohttp.server", lineno: int = 10) -> logging.LogRecord:
        return library.makeRecord(name, logging.ERROR, "web_protocol.py", lineno, "bad request", (), None)

    first = record()
    assert limit.filter(first) and not hasattr(first, "repeated")
    assert [limit.filter(record()) for _ in range(99)] == [False] * 99
    # Another code location has a window of its own; our own loggers are never held back.
    assert limit.filter(record(lineno=11))
    assert all(limit.filter(record(name="chat_server.chat")) for _ in range(5))
    now[0] += 60.0
    later = record()
    assert limit.filter(later) and later.repeated == 99
    now[0] += 61.0
    quiet = record()
    assert limit.filter(quiet) and not hasattr(quiet, "repeated")


async def test_an_ipv6_address_counts_by_its_64() -> None:
    from datetime import date

    from chat_server.privacy import AddressHasher, counted_address
    from chat_server.store.memory import MemoryChatStore

    assert counted_address("2001:db8:1:2:aaaa::1") == counted_address("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    assert counted_address("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert counted_address("::ffff:203.0.113.5") == counted_address("203.0.113.5") == "203.0.113.5"
    store, day = MemoryChatStore(), date(2026, 11, 29)
    hasher = AddressHasher((), "https://chat.example.org")
    one = await hasher.hashes(_Request("2001:db8:1:2::1"), store, day)
    assert one == await hasher.hashes(_Request("2001:db8:1:2:9999:8888:7777:6666"), store, day)
    assert one != await hasher.hashes(_Request("2001:db8:1:3::1"), store, day)
    assert one[0] == await hasher.group_hash(_Request("2001:db8:1:2:1::1"), store, day)
