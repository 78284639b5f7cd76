"""Every user-facing string exists in every language catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
CATALOGUES = sorted((STATIC / "i18n").glob("*.json"))


def load(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values()), path.name
    return data


def test_catalogues_have_identical_keys_and_no_empty_strings() -> None:
    assert {p.stem for p in CATALOGUES} >= {"fi", "sv", "en"}
    reference = load(STATIC / "i18n" / "en.json")
    for path in CATALOGUES:
        data = load(path)
        missing = sorted(set(reference) - set(data))
        extra = sorted(set(data) - set(reference))
        assert not missing and not extra, f"{path.name}: missing {missing[:10]}, extra {extra[:10]}"
        empty = [k for k, v in data.items() if not v.strip()]
        assert not empty, f"{path.name}: empty {empty[:10]}"


def test_placeholders_match_across_languages() -> None:
    reference = load(STATIC / "i18n" / "en.json")
    for path in CATALOGUES:
        data = load(path)
        for key, text in reference.items():
            assert set(re.findall(r"\{(\w+)\}", data[key])) == set(re.findall(r"\{(\w+)\}", text)), (path.name, key)


def test_every_key_used_in_markup_and_code_exists() -> None:
    reference = load(STATIC / "i18n" / "en.json")
    used: set[str] = set()
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js") and "vendor" not in path.parts:
            text = path.read_text(encoding="utf-8")
            used |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([a-z0-9_.]+)"', text))
            used |= set(re.findall(r'\bt\(\s*"([a-z0-9_]+\.[a-z0-9_.]+)"', text))
    missing = sorted(k for k in used if k not in reference)
    assert not missing, missing


def test_translations_are_not_english_copies() -> None:
    reference = load(STATIC / "i18n" / "en.json")
    for path in CATALOGUES:
        if path.stem == "en":
            continue
        data = load(path)
        same = [k for k, v in data.items() if v == reference[k] and len(v) > 12]
        assert len(same) <= len(reference) // 20, f"{path.name}: untranslated {same[:10]}"
