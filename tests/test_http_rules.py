"""Staff permission rules and the request parser, without a server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chat_server.accounts import Role, StaffAccount
from chat_server.staff_rules import (
    NotPermitted,
    OwnAccount,
    check_add,
    check_change,
    check_disable,
    check_enable,
    check_reset_password,
    routing_changed,
)
from chat_server.web.parsing import describe
from chat_server.web.roster_api import NewSlot
from chat_server.web.routes import ROUTES
from chat_server.web.routing import wrap
from chat_server.web.staff_admin import NewStaff


def account(id: int, role: Role, alias: str = "A", max_chats: int = 3) -> StaffAccount:
    return StaffAccount(id, f"u{id}", "", alias, role, ("fi",), max_chats, False)


ADMIN, MANAGER, OTHER_ADMIN, MEMBER = (
    account(1, Role.ADMIN), account(2, Role.MANAGER), account(3, Role.ADMIN), account(4, Role.STAFF)
)


def test_only_admins_grant_or_touch_admin() -> None:
    check_add(MANAGER, Role.MANAGER)
    check_add(ADMIN, Role.ADMIN)
    with pytest.raises(NotPermitted):
        check_add(MANAGER, Role.ADMIN)
    check_change(MANAGER, MEMBER, Role.MANAGER)
    for check in (check_disable, check_enable, check_reset_password):
        with pytest.raises(NotPermitted):
            check(MANAGER, OTHER_ADMIN)
        check(ADMIN, OTHER_ADMIN)
    with pytest.raises(NotPermitted):
        check_change(MANAGER, MEMBER, Role.ADMIN)
    with pytest.raises(NotPermitted):
        check_change(MANAGER, OTHER_ADMIN, None)


def test_nobody_disables_demotes_or_resets_themselves() -> None:
    for check in (check_disable, check_reset_password):
        with pytest.raises(OwnAccount):
            check(MANAGER, MANAGER)
    with pytest.raises(OwnAccount):
        check_change(ADMIN, ADMIN, Role.MANAGER)
    # The same role, or no role, is no role change: one's own alias and languages may change.
    check_change(ADMIN, ADMIN, Role.ADMIN)
    check_change(MANAGER, MANAGER, None)
    check_enable(MANAGER, MANAGER)


def test_routing_hears_of_alias_and_max_chats_only() -> None:
    assert routing_changed(MEMBER, account(4, Role.STAFF, alias="B"))
    assert routing_changed(MEMBER, account(4, Role.STAFF, max_chats=5))
    assert not routing_changed(MEMBER, account(4, Role.MANAGER))


def test_errors_name_fields_never_values() -> None:
    canary = "CANARY-7f3a"
    bodies = [
        ({"username": f"{canary} x", "alias": "A", f"{canary}key": 1}, NewStaff),
        ({"username": "x", "alias": 5, "role": canary, "languages": [canary]}, NewStaff),
        ({"kind": canary, "start": canary, "end": "25:00", "date": canary, "note": 5}, NewSlot),
    ]
    for body, model in bodies:
        with pytest.raises(ValidationError) as info:
            model.model_validate(body, context={"languages": ("fi", "en"), "max_message_length": 10})
        messages = [describe(e) for e in info.value.errors(include_url=False, include_input=False)]
        assert messages and all(canary not in m for m in messages), messages
    assert any(m == "unknown field" for m in [
        describe(e) for e in pytest.raises(ValidationError, NewStaff.model_validate,
                                           {"username": "x", "alias": "A", "extra": 1}).value.errors()
    ])


def test_every_handler_takes_what_its_route_gives() -> None:
    for route in ROUTES:
        wrap(route)  # raises TypeError on a mismatch
