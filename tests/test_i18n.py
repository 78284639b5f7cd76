"""Every user-facing string exists in every language catalogue."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chat_server.settings import TOPICS_FILE, SettingsError, load_settings
from chat_server.topics import load_taxonomy

STATIC = Path(__file__).resolve().parent.parent / "static"
CATALOGUES = sorted((STATIC / "i18n").glob("*.json"))
REQUIRED = {"fi", "sv", "en", "ru", "th", "es", "et"}
# A key named in a string literal ("widget.error.generic") or markup attribute.
KEY_LITERAL = re.compile(r"""["'`]((?:widget|console|roster|staff|reports|nav)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)["'`]""")


def load(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values()), path.name
    return data


def test_catalogues_have_identical_keys_and_no_empty_strings() -> None:
    assert {p.stem for p in CATALOGUES} >= REQUIRED
    reference = load(STATIC / "i18n" / "en.json")
    for path in CATALOGUES:
        data = load(path)
        missing = sorted(set(reference) - set(data))
        extra = sorted(set(data) - set(reference))
        assert not missing and not extra, f"{path.name}: missing {missing[:10]}, extra {extra[:10]}"
        empty = [k for k, v in data.items() if not v.strip()]
        assert not empty, f"{path.name}: empty {empty[:10]}"


def placeholders(text: str) -> set[str]:
    """{name} placeholders and the arguments of counts ({n, plural, ...}): what the code must pass."""
    return set(re.findall(r"\{(\w+)(?:\}|,\s*plural,)", text))


def test_placeholders_match_across_languages() -> None:
    reference = load(STATIC / "i18n" / "en.json")
    for path in CATALOGUES:
        data = load(path)
        for key, text in reference.items():
            assert placeholders(data[key]) == placeholders(text), (path.name, key)


def test_counts_take_each_languages_own_plural_forms() -> None:
    # The catalogues' plurals, formatted by the pages' own formatMessage (static/i18n/i18n.js) in Node.
    node = shutil.which("node")
    assert node, "node is not on PATH: the catalogue plurals cannot be checked (install Node 20+)"
    script = Path(__file__).resolve().parent / "js" / "i18n_plurals.mjs"
    result = subprocess.run([node, str(script), str(STATIC / "i18n")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    counts = sum(bool(re.search(r"\{\w+,\s*plural,", text)) for path in CATALOGUES for text in load(path).values())
    assert counts and report["checked"] == counts, report
    assert report["problems"] == [], report["problems"]


def _sources() -> list[Path]:
    return [p for p in STATIC.rglob("*") if p.suffix in (".html", ".js") and "vendor" not in p.parts]


def test_every_key_used_in_markup_and_code_exists() -> None:
    reference = load(STATIC / "i18n" / "en.json")
    used: dict[str, str] = {}
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        names = set(re.findall(r'data-i18n(?:-[a-z-]+)?="([a-z0-9_.]+)"', text))
        names |= set(re.findall(r'\bt\(\s*"([a-z0-9_]+\.[a-z0-9_.]+)"', text))
        names |= set(KEY_LITERAL.findall(text))
        used |= dict.fromkeys(names, path.name)
    assert len(used) > 100, "the scan found too few keys: has the markup changed?"
    missing = sorted(f"{key} ({where})" for key, where in used.items() if key not in reference)
    assert not missing, missing


def test_keys_built_at_run_time_exist() -> None:
    """widget.ended.<reason> and widget.error.<code> are built from protocol values."""
    reference = load(STATIC / "i18n" / "en.json")
    widget = (STATIC / "widget" / "widget.js").read_text(encoding="utf-8")
    block = re.search(r"const ENDED_REASONS = \[(.*?)\];", widget, re.S)
    assert block, "ENDED_REASONS not found in widget.js"
    reasons = re.findall(r'"([a-z_]+)"', block.group(1))
    assert "staff_ended" in reasons
    view = (STATIC / "widget" / "view.js").read_text(encoding="utf-8")
    codes = re.findall(r'code === "([a-z_]+)"', view)
    assert codes
    wanted = [f"widget.ended.{r}" for r in reasons] + [f"widget.error.{c}" for c in codes]
    assert [k for k in wanted if k not in reference] == []


def test_language_switch_and_launcher_name_every_catalogue() -> None:
    codes = {p.stem for p in CATALOGUES}
    i18n = (STATIC / "i18n" / "i18n.js").read_text(encoding="utf-8")
    names = re.search(r"LANGUAGE_NAMES = \{(.*?)\};", i18n, re.S)
    assert names and set(re.findall(r"^\s*([a-z]{2}):", names.group(1), re.M)) == codes
    embed = (STATIC / "widget" / "embed.js").read_text(encoding="utf-8")
    labels = re.search(r"var LABELS = \{(.*?)\n  \};", embed, re.S)
    assert labels and set(re.findall(r"^\s*([a-z]{2}): \{", labels.group(1), re.M)) == codes


def test_default_languages_have_catalogues_and_topic_labels() -> None:
    settings = load_settings(use_env=False)
    assert set(settings.chat.languages) == REQUIRED
    assert set(settings.chat.languages) <= {p.stem for p in CATALOGUES}
    # load_taxonomy refuses a topic or group without a label in one of them.
    taxonomy = load_taxonomy(TOPICS_FILE, tuple(p.stem for p in CATALOGUES))
    assert taxonomy.groups


def test_translations_are_not_english_copies() -> None:
    reference = load(STATIC / "i18n" / "en.json")
    for path in CATALOGUES:
        if path.stem == "en":
            continue
        data = load(path)
        same = [k for k, v in data.items() if v == reference[k] and len(v) > 12]
        assert len(same) <= len(reference) // 20, f"{path.name}: untranslated {same[:10]}"


def test_a_language_without_catalogue_is_refused() -> None:
    with pytest.raises(SettingsError, match="catalogue"):
        load_settings(overrides={"chat": {"languages": ["fi", "xx"]}}, use_env=False)
