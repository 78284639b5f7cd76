"""Error codes shared by the socket and HTTP edges (documented in docs/protocol.md)."""

from __future__ import annotations

from typing import Final

INVALID_PAYLOAD: Final = "invalid_payload"
UNKNOWN_EVENT: Final = "unknown_event"
RATE_LIMITED: Final = "rate_limited"
MESSAGE_TOO_LONG: Final = "message_too_long"
MESSAGE_EMPTY: Final = "message_empty"
UNSUPPORTED_LANGUAGE: Final = "unsupported_language"
CHAT_ALREADY_STARTED: Final = "chat_already_started"
NO_ACTIVE_CHAT: Final = "no_active_chat"
RESUME_FAILED: Final = "resume_failed"
CHAT_NOT_FOUND: Final = "chat_not_found"
CHAT_NOT_ACTIVE: Final = "chat_not_active"
NOT_ON_SHIFT: Final = "not_on_shift"
NOT_CHECKED_IN: Final = "not_checked_in"
TOPICS_REQUIRED: Final = "topics_required"
UNKNOWN_TOPIC: Final = "unknown_topic"
UNAUTHENTICATED: Final = "unauthenticated"
ORIGIN_NOT_ALLOWED: Final = "origin_not_allowed"
CSRF_FAILED: Final = "csrf_failed"
FORBIDDEN: Final = "forbidden"
INVALID_CREDENTIALS: Final = "invalid_credentials"
INVALID_REQUEST: Final = "invalid_request"
NOT_FOUND: Final = "not_found"
CONFLICT: Final = "conflict"
RELEASE_TOO_LATE: Final = "release_too_late"
WEAK_PASSWORD: Final = "weak_password"
OWN_ACCOUNT: Final = "own_account"
LAST_ADMIN: Final = "last_admin"
UNKNOWN_TICKET: Final = "unknown_ticket"
INTERNAL_ERROR: Final = "internal_error"
STAFF_NOT_ON_DUTY: Final = "staff_not_on_duty"
STAFF_FULL: Final = "staff_full"
LANGUAGE_NOT_SPOKEN: Final = "language_not_spoken"
VISITOR_BLOCKED: Final = "visitor_blocked"
# Flood limits (docs/protocol.md 2.3).
QUEUE_FULL: Final = "queue_full"
TOO_MANY_CHATS: Final = "too_many_chats"
TOO_MANY_CONNECTIONS: Final = "too_many_connections"
SERVER_BUSY: Final = "server_busy"
CHAT_FULL: Final = "chat_full"
CHAT_NOT_WAITING: Final = "chat_not_waiting"
# help:answer: no such open alarm (already answered by someone, or unknown).
ALARM_NOT_FOUND: Final = "alarm_not_found"
# chat:invite / chat:leave / message:send: a colleague brought into a chat (docs/protocol.md 4).
SECOND_RESPONDER_PRESENT: Final = "second_responder_present"
LISTENERS_DISABLED: Final = "listeners_disabled"
LISTENER_CANNOT_SEND: Final = "listener_cannot_send"
# debrief:request: the chat is not flagged (a debrief follows a flagged chat).
CHAT_NOT_FLAGGED: Final = "chat_not_flagged"

# ---- staff accounts and sign-in (accounts)
TOO_MANY_ATTEMPTS: Final = "too_many_attempts"
SIGN_IN_INCOMPLETE: Final = "sign_in_incomplete"
WRONG_PASSWORD: Final = "wrong_password"
INVALID_CODE: Final = "invalid_code"
SECOND_FACTOR_REQUIRED: Final = "second_factor_required"

# ---- the organisation's safety text (safety_text)
MARKUP_NOT_ALLOWED: Final = "markup_not_allowed"
LINK_NOT_ALLOWED: Final = "link_not_allowed"
INVALID_PHONE_NUMBER: Final = "invalid_phone_number"

# ---- outreach activities (activities)
UNKNOWN_ACTIVITY_TYPE: Final = "unknown_activity_type"
UNKNOWN_LOCALITY: Final = "unknown_locality"
NOTES_DISABLED: Final = "notes_disabled"
# ---- peer group sessions (groups; docs/protocol.md, "Peer group sessions")
GROUP_NOT_RUNNING: Final = "group_not_running"
GROUP_FULL: Final = "group_full"
ALREADY_IN_GROUP: Final = "already_in_group"
NOT_IN_GROUP: Final = "not_in_group"
STILL_WAITING: Final = "still_waiting"
RULES_NOT_ACCEPTED: Final = "rules_not_accepted"
NICKNAME_INVALID: Final = "nickname_invalid"
NICKNAME_RESERVED: Final = "nickname_reserved"
NICKNAME_TAKEN: Final = "nickname_taken"
REMOVED_FROM_GROUP: Final = "removed_from_group"
MUTED: Final = "muted"
GROUP_PAUSED: Final = "group_paused"
SLOW_MODE: Final = "slow_mode"
MESSAGE_NOT_FOUND: Final = "message_not_found"
PARTICIPANT_NOT_FOUND: Final = "participant_not_found"
NOT_MODERATOR: Final = "not_moderator"
MESSAGE_NOT_PINNABLE: Final = "message_not_pinnable"
NOT_INVITED: Final = "not_invited"


class ChatError(Exception):
    """A client request the chat service refuses, with its documented code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_ack(self) -> dict[str, object]:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}
