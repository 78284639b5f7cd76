"""Conformance: a client written only from docs/protocol.md with the official socket.io JS client.

The client is tests/js/protocol_client.mjs (Node, socket.io-client from node_modules). These
tests start a live server, set up staff and shifts, run the client and require it to succeed.
A missing Node or socket.io-client is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chat_server.accounts import Role
from tests.support.live import PASSWORD, Live, start_live, stop_live

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "protocol_client.mjs"
STAFF_GRACE = 2
TIMEOUT = 60


def _require_node() -> str:
    node = shutil.which("node")
    assert node, "node is not on PATH: the JavaScript conformance client cannot run (install Node 20+)"
    assert (ROOT / "node_modules" / "socket.io-client" / "package.json").is_file(), (
        "node_modules/socket.io-client is missing: run `npm ci` in the repository root"
    )
    assert SCRIPT.is_file(), f"{SCRIPT} is missing"
    return node


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _run_client(live: Live, phase: str, *extra: str) -> dict:
    node = _require_node()
    proc = await asyncio.create_subprocess_exec(
        node, str(SCRIPT.relative_to(ROOT)),
        "--url", live.url, "--phase", phase,
        "--staff", "aino", "--password", PASSWORD,
        "--manager", "boss", "--manager-password", PASSWORD,
        "--staff-grace", str(STAFF_GRACE),
        *extra,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(
            f"JS client ({phase}) did not finish within {TIMEOUT} s\n--- stderr ---\n{err.decode(errors='replace')}"
        ) from None
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert proc.returncode == 0 and lines, (
        f"JS client ({phase}) exited {proc.returncode}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    )
    result = json.loads(lines[-1])
    assert result.get("ok") is True, f"JS client ({phase}) reported failure: {result}\n--- stderr ---\n{stderr}"
    return result


async def test_js_client_closed_phase(tmp_path: Path) -> None:
    live = await start_live(tmp_path, chat={"staff_grace_seconds": STAFF_GRACE, "visitor_grace_seconds": 30})
    try:
        staff = await live.add_staff("aino", alias="Aino", shift=False)
        await live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
        start = live.clock.now() + timedelta(hours=2)
        await live.add_shift(staff.id, start, start + timedelta(hours=4))
        result = await _run_client(live, "closed", "--expect-next-opening", _iso(start))
        assert "visitor_start_closed" in result["checks"]
    finally:
        await stop_live(live)


async def test_js_client_main_phase(tmp_path: Path) -> None:
    live = await start_live(tmp_path, chat={"staff_grace_seconds": STAFF_GRACE, "visitor_grace_seconds": 30})
    try:
        await live.add_staff("aino", alias="Aino", max_chats=1)
        await live.add_staff("boss", alias="Boss", role=Role.MANAGER, shift=False)
        result = await _run_client(live, "main")
        for name in ("staff_disconnect_requeue", "resume_with_missed_messages_only", "report_summary_counts"):
            assert name in result["checks"], result
    finally:
        await stop_live(live)
