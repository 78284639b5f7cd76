"""The Redis store's Lua scripts, read from the `.lua` files beside this module.

Redis runs each script on its own: EVAL has no include or require. Shared code is
therefore composed here, when a script is loaded, from two kinds of file:

- `<name>.lua`: one script, run atomically by one store method. Its header says
  what it gets in KEYS and ARGV.
- `lib/<name>.lua`: shared local functions, never run alone.

A script is composed as `lib/prelude.lua` (always first: ARGV[1] is the key
prefix and ARGV[2] the TTL for every script, plus the key builders and TTL
helpers) followed by the script's own text, in which each marker line

    -- #include lib/<name>.lua

is replaced by that library's text. A library may use what the prelude defines
but includes nothing itself, and a script includes a library at most once. The
composed text is what `redis.Redis.register_script` gets (EVALSHA, reloaded
after a Redis restart), so it is one self-contained chunk as before.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

PRELUDE = "lib/prelude.lua"
_INCLUDE = re.compile(r"^-- #include (?P<path>lib/[a-z_]+\.lua)[ \t]*$", re.MULTILINE)


def _read(path: str) -> str:
    """Read one `.lua` file of this package (an editable install or a wheel alike)."""
    return files(__name__).joinpath(*path.split("/")).read_text(encoding="utf-8")


@cache
def script(name: str) -> str:
    """Compose the script `<name>.lua`: the prelude, then its text with each include expanded."""
    seen: set[str] = set()

    def expand(match: re.Match[str]) -> str:
        path = match["path"]
        if path in seen:
            raise ValueError(f"{name}.lua includes {path} twice")
        seen.add(path)
        text = _read(path)
        if _INCLUDE.search(text):
            raise ValueError(f"{path} includes another library; only scripts include")
        return f"-- {path}\n{text.rstrip()}\n-- end of {path}"

    return _read(PRELUDE) + _INCLUDE.sub(expand, _read(f"{name}.lua"))
