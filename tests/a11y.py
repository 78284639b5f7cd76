"""axe-core in the browser: inject it from node_modules and fail on serious or critical violations.

The pages' CSP forbids inline scripts, so the contexts that run axe are created with
bypass_csp=True (Playwright injects axe as an inline script). Every run is appended to
test-artifacts/axe-report.txt, minor and moderate findings included, for people to read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Frame, Page

from tests.support.paths import ARTIFACTS

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
REPORT = ARTIFACTS / "axe-report.txt"
BLOCKING = {"serious", "critical"}

_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


async def axe_violations(target: Page | Frame, name: str) -> list[dict[str, Any]]:
    """Run axe on the page or frame as it is now; return the serious and critical violations."""
    assert AXE.is_file(), f"{AXE} is missing: run `make deps` (axe-core comes from npm)"
    if not await target.evaluate("typeof window.axe === 'object'"):
        await target.add_script_tag(path=AXE)
    violations: list[dict[str, Any]] = await target.evaluate(_RUN)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a", encoding="utf-8") as report:
        report.write(f"{name}: {len(violations)} violation(s)\n")
        for v in violations:
            report.write(f"  [{v['impact']}] {v['id']}: {v['help']} — {', '.join(v['nodes'])}\n")
    return [v for v in violations if v["impact"] in BLOCKING]


async def assert_accessible(target: Page | Frame, name: str) -> None:
    blocking = await axe_violations(target, name)
    assert blocking == [], f"{name}: axe found serious/critical violations: {blocking}"
