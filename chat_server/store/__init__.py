"""Live chat stores: where chats, queue, messages and staff presence live."""

from chat_server.store.base import ChatStore
from chat_server.store.memory import MemoryChatStore

__all__ = ["ChatStore", "MemoryChatStore"]
