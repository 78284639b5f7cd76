"""The /visitor namespace."""

from __future__ import annotations

from typing import Any

from chat_server import errors
from chat_server.chat import events
from chat_server.chat.service import ChatService
from chat_server.errors import ChatError
from chat_server.privacy import AddressHasher
from chat_server.realtime import schemas
from chat_server.realtime.address_sockets import AddressSockets
from chat_server.realtime.base import EventNamespace


def chat_room(chat_id: str) -> str:
    return f"chat:{chat_id}"


class VisitorNamespace(EventNamespace):
    """A visitor socket holds at most one chat; no cookie, no address is kept.

    Which socket holds a chat is kept in the chat store (across workers), so a
    late disconnect of a replaced socket never marks a resumed visitor as gone.
    """

    def __init__(self, service: ChatService, rate: float, burst: int, addresses: AddressHasher | None = None) -> None:
        super().__init__(events.VISITOR_NAMESPACE, rate, burst)
        self.service = service
        self.addresses = addresses
        self._chat_of: dict[str, str] = {}
        # Keyed hashes of each socket's address, made once at the handshake (never the address),
        # and the open sockets of each on this worker (sockets_per_address).
        self._sockets = AddressSockets()
        self.event(events.CHAT_START, schemas.StartChat, self.chat_start)
        self.event(events.CHAT_RESUME, schemas.ResumeChat, self.chat_resume)
        self.event(events.MESSAGE_SEND, schemas.VisitorMessage, self.message_send)
        self.event(events.TYPING_SET, schemas.VisitorTyping, self.typing_set)
        self.event(events.MESSAGES_FETCH, schemas.VisitorFetch, self.messages_fetch)
        self.event(events.CHAT_END, schemas.Empty, self.chat_end)
        self.event(events.CHAT_LANGUAGE, schemas.SwitchLanguage, self.chat_language)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        hashes = await self._address_hashes(environ)
        self._sockets.admit(sid, hashes, self.service.limits.sockets_per_address)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.forget(sid)
        self._sockets.release(sid)
        chat_id = self._chat_of.pop(sid, None)
        if chat_id:
            await self.service.visitor_disconnected(chat_id, sid)

    async def state_lost(self) -> None:
        """Tell every local socket holding a chat that the chat is gone."""
        for sid, chat_id in list(self._chat_of.items()):
            del self._chat_of[sid]
            await self.leave_room(sid, chat_room(chat_id))
            # Local sockets, sent directly: pub/sub may be what just failed.
            payload = events.visitor_chat_ended(chat_id, events.STATE_LOST)
            await self.emit(events.CHAT_ENDED, payload, to=sid, ignore_queue=True)

    async def reattach(self) -> None:
        """Claim the chats of local sockets again (this worker had been taken for dead)."""
        for sid, chat_id in list(self._chat_of.items()):
            await self.service.visitor_reattached(chat_id, sid)

    async def _hold(self, sid: str, chat_id: str) -> None:
        previous = self._chat_of.get(sid)
        if previous and previous != chat_id:
            await self.leave_room(sid, chat_room(previous))
        self._chat_of[sid] = chat_id
        await self.enter_room(sid, chat_room(chat_id))

    async def _refuse_second_chat(self, sid: str, allowed: str | None = None) -> None:
        current = self._chat_of.get(sid)
        if current and current != allowed and await self.service.has_live_chat(current, sid):
            raise ChatError(errors.CHAT_ALREADY_STARTED, "this connection already holds a chat")

    async def chat_start(self, sid: str, payload: schemas.StartChat) -> dict[str, Any]:
        await self._refuse_second_chat(sid)
        invitation = payload.invitation
        take = self.service.take_invitation
        result = await self.service.start_chat(
            payload.language, sid, self._sockets.hashes(sid),
            (lambda: take(invitation)) if invitation is not None else None,
        )
        view = result.chat
        if result.chat_id is not None:
            await self._hold(sid, result.chat_id)
            # Read the state again once in the room: another worker may have assigned the chat
            # before the socket joined (that push went to an empty room). A change made from now
            # on is pushed; one made before is in this view.
            view = await self.service.current_visitor_view(result.chat_id) or view
        return {"chat": view, "resume_token": result.resume_token}

    async def _address_hashes(self, environ: dict[str, Any]) -> list[str]:
        """Keyed hashes of the handshake's address (the address itself is not kept)."""
        request = environ.get("aiohttp.request") if self.addresses else None
        if request is None or self.addresses is None:
            return []
        return await self.addresses.hashes(request, self.service.store, self.service.clock.now().date())

    async def chat_resume(self, sid: str, payload: schemas.ResumeChat) -> dict[str, Any]:
        chat = await self.service.chat_for_token(payload.resume_token)
        await self._refuse_second_chat(sid, allowed=chat.chat_id)
        previous = self._chat_of.get(sid)
        # Join the room before reading the missed messages: a message sent meanwhile is then
        # pushed (perhaps also in the ack; clients ignore a seq they have), never lost.
        await self._hold(sid, chat.chat_id)
        try:
            resumed = await self.service.resume(payload.resume_token, payload.last_seq, sid)
        except ChatError:
            if previous != chat.chat_id:
                await self.leave_room(sid, chat_room(chat.chat_id))
                self._chat_of.pop(sid, None)
            raise
        return {"chat": resumed.view, "messages": resumed.messages, "more": resumed.more}

    async def message_send(self, sid: str, payload: schemas.VisitorMessage) -> dict[str, Any]:
        seq, duplicate = await self.service.visitor_message(
            self._chat_of.get(sid), sid, payload.client_id, payload.text
        )
        return {"seq": seq, "duplicate": duplicate}

    async def typing_set(self, sid: str, payload: schemas.VisitorTyping) -> None:
        await self.service.visitor_typing(self._chat_of.get(sid), sid, payload.typing)

    async def messages_fetch(self, sid: str, payload: schemas.VisitorFetch) -> dict[str, Any]:
        page = await self.service.visitor_fetch(self._chat_of.get(sid), sid, payload.after_seq)
        return {"messages": page.messages, "more": page.more}

    async def chat_language(self, sid: str, payload: schemas.SwitchLanguage) -> dict[str, Any]:
        return {"chat": await self.service.switch_language(self._chat_of.get(sid), sid, payload.language)}

    async def chat_end(self, sid: str, payload: schemas.Empty) -> dict[str, Any]:
        # The ticket is in chat:ended too; the ack carries it for a client that sees the ack first.
        return {"feedback_ticket": await self.service.visitor_end(self._chat_of.get(sid), sid)}
