"""The demo's safety text in every catalogue language (`dutychat run --demo`): an example to edit on /safety/."""

from __future__ import annotations

from datetime import datetime

from chat_server.safety_text import SafetyTextInvalid, SafetyTexts, check

# 112 is the emergency number across the EU; the helpline and clinic are examples of what an organisation writes.
DEMO_SAFETY_TEXT = {
    "fi": (
        "Jos olet vaarassa nyt, soita hätänumeroon tel:112.\n"
        "Neuvontapuhelin +358 40 123 4567, ma–pe 10–16, nimettömästi.\n"
        "Walk-in-vastaanotto ti ja to 12–18 ilman ajanvarausta."
    ),
    "sv": (
        "Om du är i fara nu, ring nödnumret tel:112.\n"
        "Rådgivningstelefon +358 40 123 4567, mån–fre 10–16, anonymt.\n"
        "Drop in-mottagning tis och tors 12–18 utan tidsbokning."
    ),
    "en": (
        "If you are in danger now, call the emergency number tel:112.\n"
        "Helpline +358 40 123 4567, Mon–Fri 10–16, anonymous.\n"
        "Walk-in clinic Tue and Thu 12–18, no appointment needed."
    ),
    "ru": (
        "Если вам сейчас угрожает опасность, звоните по номеру экстренной помощи tel:112.\n"
        "Телефон доверия +358 40 123 4567, пн–пт 10–16, анонимно.\n"
        "Приём без записи: вт и чт 12–18."
    ),
    "th": (
        "หากคุณตกอยู่ในอันตรายตอนนี้ โทรหมายเลขฉุกเฉิน tel:112\n"
        "สายด่วนให้คำปรึกษา +358 40 123 4567 จันทร์–ศุกร์ 10–16 น. ไม่ต้องบอกชื่อ\n"
        "คลินิกไม่ต้องนัดล่วงหน้า อังคารและพฤหัสบดี 12–18 น."
    ),
    "et": (
        "Kui oled praegu ohus, helista hädaabinumbrile tel:112.\n"
        "Nõuandetelefon +358 40 123 4567, E–R 10–16, anonüümselt.\n"
        "Vastuvõtt ilma etteregistreerimiseta T ja N 12–18."
    ),
    "es": (
        "Si estás en peligro ahora, llama al número de emergencias tel:112.\n"
        "Teléfono de ayuda +358 40 123 4567, lun–vie 10–16, de forma anónima.\n"
        "Consulta sin cita previa mar y jue 12–18."
    ),
}


async def seed_demo_safety_text(
    texts: SafetyTexts, languages: tuple[str, ...], hosts: tuple[str, ...], website: str, now: datetime
) -> list[str]:
    """Add the example text to each offered language that has none yet; answer the languages seeded."""
    have = {t.language for t in await texts.all()}
    seeded = []
    for language in languages:
        body = DEMO_SAFETY_TEXT.get(language)
        if body is None or language in have:
            continue
        if website:
            body += f"\n{website}"
        try:
            body = check(body, hosts)
        except SafetyTextInvalid:
            body = check(DEMO_SAFETY_TEXT[language], hosts)
        await texts.put(language, body, now)
        seeded.append(language)
    return seeded
