"""Payload schemas of every client event, declared beside nothing else."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

ClientId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ChatId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Seq = Annotated[StrictInt, Field(ge=0)]
# Length is checked by the service against the setting, with its own error code;
# this bound only stops absurd payloads before they reach it.
Text = Annotated[StrictStr, Field(max_length=100_000)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Empty(Payload):
    pass


class StartChat(Payload):
    language: Annotated[StrictStr, Field(min_length=1, max_length=16)]
    # A peer group invitation's token (group:invite), when the chat starts from one.
    invitation: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None


class SwitchLanguage(Payload):
    language: Annotated[StrictStr, Field(min_length=1, max_length=16)]


class ResumeChat(Payload):
    resume_token: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    # Required (docs/protocol.md 3.1): a client that omits it gets invalid_payload, not a resume.
    last_seq: Seq


class VisitorMessage(Payload):
    client_id: ClientId
    text: Text


class VisitorTyping(Payload):
    typing: StrictBool


class VisitorFetch(Payload):
    after_seq: Seq


class StaffMessage(Payload):
    chat_id: ChatId
    client_id: ClientId
    text: Text


class StaffTyping(Payload):
    chat_id: ChatId
    typing: StrictBool


class StaffFetch(Payload):
    chat_id: ChatId
    after_seq: Seq


class StaffEnd(Payload):
    chat_id: ChatId
    topics: Annotated[list[Annotated[StrictStr, Field(max_length=64)]], Field(max_length=50)]


class StaffTransfer(Payload):
    chat_id: ChatId
    to_staff_id: Annotated[StrictInt, Field(ge=1)]
    # A hand-over note for the receiver (live only: an entry of the chat's staff thread).
    note: Text | None = None


class StaffInvite(Payload):
    # "as" is a Python keyword: the field is `role`, sent as "as".
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    chat_id: ChatId
    staff_id: Annotated[StrictInt, Field(ge=1)]
    role: Literal["responder", "listener"] = Field("responder", alias="as")


class StaffLeave(Payload):
    chat_id: ChatId


class StaffTake(Payload):
    chat_id: ChatId


class ThreadSend(Payload):
    chat_id: ChatId
    client_id: ClientId
    text: Text
    # A colleague to ask into the thread with this message (staff id).
    invite: Annotated[StrictInt, Field(ge=1)] | None = None
    # "handover": a note for whoever takes the chat over next (at the end of the shift).
    kind: Literal["message", "handover"] = "message"


class StaffFlag(Payload):
    chat_id: ChatId
    category: Literal["violence_threat", "trafficking_suspected", "crisis_self_harm", "abusive_visitor", "other"]


class DebriefRequest(Payload):
    chat_id: ChatId


class HelpRaise(Payload):
    chat_id: ChatId | None = None


class HelpAnswer(Payload):
    alarm_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]


class ThreadFetch(Payload):
    chat_id: ChatId


class StaffBlock(Payload):
    chat_id: ChatId
