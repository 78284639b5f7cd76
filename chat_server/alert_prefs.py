"""How each member's console alerts them: kept per account on the server (default: everything on)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import StaffAlertPrefs


@dataclass(frozen=True, slots=True)
class AlertPrefs:
    sound: bool = True
    desktop: bool = True
    # The browser's notification permission has been asked once (at a check-in).
    permission_asked: bool = False


class AlertPrefsRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, staff_id: int) -> AlertPrefs:
        async with self._sessions() as session:
            row = await session.get(StaffAlertPrefs, staff_id)
        return AlertPrefs(row.sound, row.desktop, row.permission_asked) if row else AlertPrefs()

    async def change(
        self, staff_id: int, *, sound: bool | None = None, desktop: bool | None = None,
        permission_asked: bool | None = None,
    ) -> AlertPrefs:
        """Change the given preferences (None: unchanged) and return them all."""
        async with self._sessions.begin() as session:
            row = await session.get(StaffAlertPrefs, staff_id, with_for_update=True)
            current = AlertPrefs(row.sound, row.desktop, row.permission_asked) if row else AlertPrefs()
            changed = replace(
                current,
                sound=current.sound if sound is None else sound,
                desktop=current.desktop if desktop is None else desktop,
                permission_asked=current.permission_asked if permission_asked is None else permission_asked,
            )
            if row is None:
                session.add(StaffAlertPrefs(
                    staff_id=staff_id, sound=changed.sound, desktop=changed.desktop,
                    permission_asked=changed.permission_asked,
                ))
            else:
                row.sound, row.desktop, row.permission_asked = changed.sound, changed.desktop, changed.permission_asked
        return changed
