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
