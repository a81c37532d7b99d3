"""Personal data shown only as much as a reader needs: masked phones and voter ids.

Audit rows, admin log entries, log lines and the pages of users without the right to see
full numbers (cadreconnect.permissions, Action.CONTACT_SEE) use these forms.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

# '+' among the separators: a URL's query writes a space as '+' ('98123+45678').
_PHONE_LIKE = re.compile(r"\+?\d[\d\s().+-]{6,}\d")
# Three letters and seven digits, also as typed with separators ('abc 123 4567', 'ABC/1234567').
_EPIC_LIKE = re.compile(r"\b[A-Za-z]{3}(?:[\s/+-]?\d){7}\b")
_EPIC_SEPARATORS = re.compile(r"[\s/+-]")


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
    text = _EPIC_LIKE.sub(
        lambda match: mask_epic(_EPIC_SEPARATORS.sub("", match.group(0)).upper()), text
    )
    return _PHONE_LIKE.sub(lambda match: _mask_digits(match.group(0)), text)


def _mask_digits(run: str) -> str:
    digits = re.sub(r"\D", "", run)
    if len(digits) < 8:
        return run
    return f"{'+' if run.startswith('+') else ''}{digits[:2]}{'x' * (len(digits) - 4)}{digits[-2:]}"


def redact_url(url: str) -> str:
    """A URL or request line ('GET /members/?q=%2B919812345678 HTTP/1.1') as a log may keep
    it: redacted after decoding, since '%2B91...' or '98123%2045678' hide a number from a
    pattern (decoded up to three times: a redirect's ?next= is the URL encoded again), then
    quoted again, so that the line stays one line of printable text."""
    decoded = url
    for _layer in range(3):  # a sign-in redirect's ?next= holds the URL encoded once more
        once_more = unquote(decoded)
        if once_more == decoded:
            break
        decoded = once_more
    redacted = redact(decoded)
    if redacted == decoded:
        return url
    return quote(redacted, safe="/?&=:;,@!$'()*[]~+ ")


def mask_email(text: str) -> str:
    """'lalit.lead@cadreconnect.example' -> 'la***@cadreconnect.example': enough to tell one
    person's mistakes from another's attempts, not the address. Text that is no e-mail address
    (a phone typed into the sign-in box) is redacted instead."""
    text = (text or "").strip()[:254]
    local, at, domain = text.rpartition("@")
    if not at:
        return redact(text)[:64]
    return f"{local[:2]}***@{redact(domain)[:64]}"
