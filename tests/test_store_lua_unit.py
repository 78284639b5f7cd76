"""The Lua loader: every script file is used, and composing leaves no include marker behind."""

from __future__ import annotations

from importlib.resources import files

import pytest

from chat_server.groups.store import GROUP_SCRIPTS
from chat_server.store import lua
from chat_server.store.redis import SCRIPTS as CHAT_SCRIPTS

# The chat store's scripts and the group store's share one folder.
SCRIPTS = (*CHAT_SCRIPTS, *GROUP_SCRIPTS)

LUA = files("chat_server.store.lua")


def test_every_script_file_is_registered_by_the_store() -> None:
    on_disk = {p.name.removesuffix(".lua") for p in LUA.iterdir() if p.name.endswith(".lua")}
    assert on_disk == set(SCRIPTS)


def test_every_library_is_included_somewhere() -> None:
    libraries = {f"lib/{p.name}" for p in LUA.joinpath("lib").iterdir() if p.name.endswith(".lua")}
    used = {lua.PRELUDE} | {
        line.removeprefix("-- #include ").strip()
        for name in SCRIPTS
        for line in LUA.joinpath(f"{name}.lua").read_text(encoding="utf-8").splitlines()
        if line.startswith("-- #include ")
    }
    assert libraries == used


@pytest.mark.parametrize("name", SCRIPTS)
def test_composed_script_starts_with_the_prelude_and_has_no_marker_left(name: str) -> None:
    text = lua.script(name)
    assert text.startswith(LUA.joinpath("lib", "prelude.lua").read_text(encoding="utf-8"))
    assert "#include" not in text


def test_assign_and_transfer_share_the_take_onto_staff_library() -> None:
    assert "local function take_onto_staff" in lua.script("assign")
    assert "local function take_onto_staff" in lua.script("transfer")
