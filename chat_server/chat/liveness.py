"""Worker liveness: the heartbeat, reaping workers that died, and noticing a chat store that lost its contents."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from chat_server.chat import events
from chat_server.chat.context import ChatContext

log = logging.getLogger(__name__)

# Each worker proves it is alive every WORKER_HEARTBEAT_SECONDS (a task of its own,
# so a slow sweep cannot make it miss) and counts as dead once its heartbeat is
# WORKER_HEARTBEAT_TTL_SECONDS old: then any other worker takes its sockets off the books.
# Once a second, as docs/protocol.md (4.2) and docs/deploy.md promise; with Redis the same
# call also reads the primary's replication state (acknowledgements wait for a replica in sync).
WORKER_HEARTBEAT_SECONDS = 1.0
WORKER_HEARTBEAT_TTL_SECONDS = 10.0


class Liveness:
    def __init__(self, ctx: ChatContext, worker_id: str, on_state_lost: Callable[[], None]) -> None:
        self.ctx = ctx
        # This process's id in the store: which worker holds which socket.
        self.worker_id = worker_id
        self._on_state_lost = on_state_lost
        self._epoch: str | None = None
        self._registered = False
        # The heartbeat task and the sweep both look at the epoch: one of them handles a loss.
        self._epoch_lock = asyncio.Lock()

    async def start(self) -> None:
        """Note the chat store's epoch before any chat, so a later loss is noticed; register the worker."""
        await self.check_epoch()
        await self.heartbeat()
        await self.reap_dead_workers()

    async def stop(self) -> None:
        """Deregister the worker (graceful shutdown)."""
        try:
            await self.ctx.store.worker_stopped(self.worker_id)
        except Exception:
            # Unreachable store: the heartbeat expires and another worker reaps this one.
            log.warning("could not deregister the worker from the chat store")

    async def heartbeat(self) -> None:
        """Prove this worker alive (run every few seconds, apart from the sweep)."""
        known = await self.ctx.store.worker_heartbeat(self.worker_id, WORKER_HEARTBEAT_TTL_SECONDS)
        if not known and self._registered:
            # Either the store lost everything (handled as a lost epoch) or another
            # worker took this one for dead during a long stall: claim the sockets back.
            await self.check_epoch()
            if self._registered:
                log.warning("this worker was taken for dead; registering its sockets again")
                await self.ctx.notifier.reattach()
        self._registered = True

    async def reap_dead_workers(self) -> None:
        """Take the sockets of workers whose heartbeat stopped off the books.

        A worker killed without closing its sockets (kill -9, a lost machine) left
        its visitors counted as connected and its staff sockets counted: their
        grace periods would never start.
        """
        now = self.ctx.clock.now()
        for worker in await self.ctx.store.dead_workers():
            if worker == self.worker_id:
                continue
            chats, presences = await self.ctx.store.reap_worker(worker, now)
            if not chats and not presences:
                continue
            log.warning(
                "a worker stopped without closing its sockets; counting them as disconnected",
                extra={"visitors": len(chats), "staff": len(presences)},
            )
            for chat in chats:
                if chat.staff_id is not None:
                    await self.ctx.notifier.staff_chat_presence(
                        chat.staff_id, events.chat_presence(chat.chat_id, False)
                    )

    async def check_epoch(self) -> None:
        """Notice when the chat store lost its contents (Redis restarted) and tell everyone."""
        async with self._epoch_lock:
            epoch = await self.ctx.store.epoch()
            if self._epoch is not None and epoch != self._epoch:
                log.warning("the chat store lost its contents; telling connected clients")
                # The next heartbeat registers this worker anew; it was not reaped.
                self._registered = False
                self._on_state_lost()
                await self.ctx.notifier.state_lost()
            self._epoch = epoch
