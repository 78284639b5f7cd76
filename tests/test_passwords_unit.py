"""The password policy and the bounded argon2 pool, without a server."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from chat_server.passwords import PasswordPolicy, PasswordRefused, PasswordWork, PasswordWorkBusy, check_password

POLICY = PasswordPolicy()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-one", "too_short"),
        ("password12", "too_short"),
        ("password1234", "too_common"),
        ("qwertyuiop12", "too_common"),
        ("iloveyou1234", "too_common"),
        ("aaaaaaaaaaaaaaaa", "too_common"),
        ("x" * 1025, "too_long"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    with pytest.raises(PasswordRefused) as refused:
        check_password(password, POLICY)
    assert refused.value.reason == reason
    assert password not in str(refused.value)


def test_a_password_built_from_the_accounts_own_names_is_refused() -> None:
    check_password("ainoniemi2026x", POLICY)
    with pytest.raises(PasswordRefused) as refused:
        check_password("ainoniemi2026x", POLICY, ("ainoniemi", "Aino", "Aino Niemi"))
    assert refused.value.reason == "too_common"


@pytest.mark.parametrize("password", ["correct horse battery", "xK9#mP2$vL8q", "lumi sataa hiljaa tänään"])
def test_strong_passwords_pass(password: str) -> None:
    check_password(password, POLICY)


async def test_the_pool_verifies_off_the_event_loop_thread() -> None:
    work = PasswordWork(threads=1, max_waiting=4)
    try:
        stored = await work.hash("correct horse battery")
        seen: list[int] = []
        import chat_server.passwords as passwords

        original = passwords._verify

        def recording(password_hash: str | None, password: str) -> bool:
            seen.append(threading.get_ident())
            return original(password_hash, password)

        passwords._verify = recording  # type: ignore[assignment]  # observe where the work runs
        try:
            assert await work.verify(stored, "correct horse battery")
            assert not await work.verify(stored, "wrong horse battery")
            assert not await work.verify(None, "correct horse battery")
        finally:
            passwords._verify = original  # type: ignore[assignment]
        assert seen and threading.get_ident() not in seen
    finally:
        work.close()


async def test_the_pool_runs_below_the_event_loops_priority() -> None:
    """argon2's lane threads fill the cores: the pool's thread (and so they) yield the CPU to the event loop."""
    work = PasswordWork(threads=1, max_waiting=0)
    try:
        import chat_server.passwords as passwords

        loop_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        pool_nice = await asyncio.get_running_loop().run_in_executor(
            work._pool, lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        assert pool_nice == min(19, loop_nice + passwords.ARGON2_NICE)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == loop_nice
    finally:
        work.close()


async def test_beyond_the_waiting_bound_a_check_is_refused_at_once() -> None:
    work = PasswordWork(threads=1, max_waiting=1)
    try:
        stored = await work.hash("correct horse battery")
        running = [asyncio.ensure_future(work.verify(stored, "wrong horse battery")) for _ in range(2)]
        await asyncio.sleep(0)
        assert work.waiting == 2
        with pytest.raises(PasswordWorkBusy):
            await work.verify(stored, "wrong horse battery")
        assert await asyncio.gather(*running) == [False, False]
        assert work.waiting == 0
        assert await work.verify(stored, "correct horse battery")
    finally:
        work.close()
