"""Personal data shown only as much as a reader needs: masked phones and voter ids.

Audit rows, admin log entries, log lines and the pages of users without the right to see
full numbers (cadreconnect.permissions, Action.CONTACT_SEE) use these forms.
"""

from __future__ import annotations

import re

_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_EPIC_LIKE = re.compile(r"\b[A-Za-z]{3}\d{7}\b")


def mask_phone(e164: str) -> str:
    """'+919812345621' -> '+91 98xxxxxx21': the country code, the first two and the last two
    digits of the number."""
    if not e164:
        return ""
    digits = e164.lstrip("+")
    if e164.startswith("+91") and len(digits) == 12:
        national = digits[2:]
        return f"+91 {national[:2]}{'x' * (len(national) - 4)}{national[-2:]}"
    if len(digits) <= 4:
        return "x" * len(digits)
    return f"+{digits[:2]}{'x' * (len(digits) - 4)}{digits[-2:]}"


def mask_epic(epic: str) -> str:
    """'ABC1234567' -> 'ABCxxxxx67'."""
    if not epic:
        return ""
    if len(epic) <= 4:
        return "x" * len(epic)
    return f"{epic[:3]}{'x' * (len(epic) - 5)}{epic[-2:]}"


def redact(text: str) -> str:
    """Any phone-like run of digits and any voter-id-like word in free text, masked: for
    log lines and audit text whose content is not known in advance."""
    text = _EPIC_LIKE.sub(lambda match: mask_epic(match.group(0).upper()), text)
    return _PHONE_LIKE.sub(lambda match: _mask_digits(match.group(0)), text)


def _mask_digits(run: str) -> str:
    digits = re.sub(r"\D", "", run)
    if len(digits) < 8:
        return run
    return f"{'+' if run.startswith('+') else ''}{digits[:2]}{'x' * (len(digits) - 4)}{digits[-2:]}"
