"""The open-files limit of a server process (standard library only).

Every socket is a file. dutychat's `run` raises its own soft limit at start-up;
the benchmark's processes (harness, load generators, the bare relay, which must
not import the rest of dutychat: its memory is a baseline) use the same
function for the 10,000 idle connections of the cost curves.
"""

from __future__ import annotations

import resource


def raise_open_files_limit() -> int:
    """Raise this process's soft open-files limit to its hard limit; return the new soft limit.

    Every socket is a file: at the 1,024 a service gets by default, a few hundred
    idle widget connections are enough to refuse staff logins and health checks.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft
