"""Who may do what to which staff account (docs/protocol.md §9), and the role groups of the API.

- managers and admins add members and change staff and manager accounts;
- only admins grant the admin role or change anything about an admin account;
- nobody disables, changes the role of, or resets the password of their own account;
- the last enabled admin can be neither demoted nor disabled: the repository
  refuses that (`accounts.LastAdmin`), in the same transaction as the change.

The checks are pure: they raise, or return None.
"""

from __future__ import annotations

from typing import Final

from chat_server.accounts import Role, StaffAccount

EVERYONE: Final = (Role.STAFF, Role.MANAGER, Role.ADMIN, Role.PEER)
# The roles that plan the roster, administer staff, write canned responses and read reports.
MANAGERS: Final = (Role.MANAGER, Role.ADMIN)
# Who resets another member's second factor.
ADMINS: Final = (Role.ADMIN,)


class StaffRuleError(Exception):
    """A staff administration request the rules refuse; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotPermitted(StaffRuleError):
    """The actor's role may not do this to this account."""


class OwnAccount(StaffRuleError):
    """Nobody does this to their own account."""


def manages(account: StaffAccount) -> bool:
    return account.role in MANAGERS


def _grant(actor: StaffAccount, role: Role) -> None:
    if role is Role.ADMIN and actor.role is not Role.ADMIN:
        raise NotPermitted("Only admins grant the admin role.")


def _touch(actor: StaffAccount, target: StaffAccount) -> None:
    if target.role is Role.ADMIN and actor.role is not Role.ADMIN:
        raise NotPermitted("Only admins change an admin account.")


def _not_own(actor: StaffAccount, target: StaffAccount, what: str) -> None:
    if actor.id == target.id:
        raise OwnAccount(f"You cannot {what} your own account; ask another manager.")


def check_add(actor: StaffAccount, role: Role) -> None:
    """May actor add a member with this role?"""
    _grant(actor, role)


def check_change(actor: StaffAccount, target: StaffAccount, role: Role | None) -> None:
    """May actor change target (and give it `role`, when not None)?"""
    _touch(actor, target)
    if role is not None and role is not target.role:
        _not_own(actor, target, "change the role of")
        _grant(actor, role)


def check_disable(actor: StaffAccount, target: StaffAccount) -> None:
    _touch(actor, target)
    _not_own(actor, target, "disable")


def check_enable(actor: StaffAccount, target: StaffAccount) -> None:
    _touch(actor, target)


def check_reset_password(actor: StaffAccount, target: StaffAccount) -> None:
    _touch(actor, target)
    _not_own(actor, target, "reset the password of")


def check_reset_totp(actor: StaffAccount, target: StaffAccount) -> None:
    """Only admins reset a second factor (the route says so), never their own: another admin does."""
    _not_own(actor, target, "reset the second factor of")


def routing_changed(before: StaffAccount, after: StaffAccount) -> bool:
    """A new alias or max_chats applies to routing at once; the chat service must hear of it."""
    return (before.alias, before.max_chats) != (after.alias, after.max_chats)
