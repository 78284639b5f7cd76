"""The optional "Help now" webhook (config `help.webhook_url`, off by default; docs/deploy.md).

When a staff member raises "Help now" and nobody else is signed in to the staff
console to answer it, the server POSTs a small JSON document to the configured
address, so that someone off the console (a phone on call, a chat room bot) is
told. It carries no chat content and nobody's name: the service, the time, the
"help needed" flag and the alarm's random id. A failure (a timeout, a refused
connection, an error status) is logged with the address's host only: the path
and query of a webhook address usually hold its secret.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import aiohttp

from chat_server.chat.models import HelpAlarm
from chat_server.clock import iso

log = logging.getLogger(__name__)


def webhook_host(url: str) -> str:
    """The part of a webhook address that may be logged: its host (never the path, query or user info)."""
    return urlsplit(url).hostname or "?"


def help_payload(alarm: HelpAlarm, service: str) -> dict[str, object]:
    """The webhook's JSON: no chat, no text, no one named."""
    return {"event": "help_needed", "help_needed": True, "service": service, "alarm_id": alarm.alarm_id,
            "raised_at": iso(alarm.raised_at)}


class HelpWebhook:
    def __init__(self, url: str, service: str, timeout_seconds: float) -> None:
        self.url = url
        self.service = service
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._sending: set[asyncio.Task[bool]] = set()

    def notify(self, alarm: HelpAlarm) -> None:
        """Send in the background: the alarm on the consoles never waits for the webhook."""
        task = asyncio.create_task(self.send(alarm))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def send(self, alarm: HelpAlarm) -> bool:
        """POST the alarm; True when the receiver answered 2xx. Failures are logged, never raised."""
        host = webhook_host(self.url)
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as http:
                async with http.post(self.url, json=help_payload(alarm, self.service)) as response:
                    if 200 <= response.status < 300:
                        log.info("help webhook sent", extra={"event": "help.webhook_sent", "host": host})
                        return True
                    log.warning("help webhook refused", extra={
                        "event": "help.webhook_failed", "host": host, "status": response.status,
                    })
        except TimeoutError:
            log.warning("help webhook timed out", extra={"event": "help.webhook_failed", "host": host})
        except aiohttp.ClientError:
            # The exception's text may quote the address: it is not logged.
            log.warning("help webhook unreachable", extra={"event": "help.webhook_failed", "host": host})
        return False
