"""How a text looks on each channel: WhatsApp's and Telegram's formatting, and what an SMS
costs in segments. Pure functions of the text, for the editor's preview (and the distribution).

WhatsApp formats `*bold*`, `_italic_`, `~strike~` and ```` ```monospace``` ````; Telegram's
bots take the same marks (the distribution sends them as Telegram's HTML formatting); an SMS
carries none of them, so its text is the body with the marks taken out.

An SMS is written in GSM-7 (GSM 03.38) when every character is in that alphabet or its
extension table, otherwise in UCS-2 (any Hindi letter, any emoji). A GSM-7 message takes 160
septets in one segment and 153 in each segment of a longer one (a concatenated message's
header takes the rest); a character of the extension table (`^ { } [ ] ~ | € \\` and form
feed) takes two septets, an escape and itself, and is never split across segments. A UCS-2
message takes 70 UTF-16 code units in one segment and 67 in each of a longer one; a character
outside the Basic Multilingual Plane (most emoji) takes two units, never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# GSM 03.38, the basic table (the escape 0x1B itself excluded) and the extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "gsm7"
UCS2 = "ucs2"
# Units in one segment, and in each segment of a message split into several.
SEGMENT_UNITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # GSM7 or UCS2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # what each segment holds at this length (160/153 or 70/67)

    @property
    def is_unicode(self) -> bool:
        return self.encoding == UCS2


def sms_encoding(text: str) -> str:
    """GSM7 when every character is in the GSM 03.38 alphabet or its extension, else UCS2."""
    return GSM7 if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else UCS2


def _unit_widths(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_segments(text: str) -> SmsCount:
    """How many SMS segments the text takes (0 for an empty text)."""
    encoding = sms_encoding(text)
    widths = _unit_widths(text, encoding)
    units = sum(widths)
    single, split = SEGMENT_UNITS[encoding]
    if units == 0:
        return SmsCount(encoding, 0, 0, single)
    if units <= single:
        return SmsCount(encoding, units, 1, single)
    # Fill segments one character at a time: a two-unit character that does not fit whole
    # goes to the next segment.
    segments, used = 1, 0
    for width in widths:
        if used + width > split:
            segments += 1
            used = 0
        used += width
    return SmsCount(encoding, units, segments, split)


# --- Formatting -----------------------------------------------------------------------------

MONOSPACE = re.compile(r"```(.+?)```", re.S)


def _mark(marker: str) -> re.Pattern[str]:
    # A mark opens before a non-space and closes after one, on one line, and stands apart
    # from the letters around it (snake_case_words and 2*3*4 stay as they are).
    m = re.escape(marker)
    return re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]*?\S){m}(?![\w{m}])")


STYLES = [(_mark("*"), "strong"), (_mark("_"), "em"), (_mark("~"), "s")]


def _format_plain(escaped: str) -> str:
    for pattern, tag in STYLES:
        escaped = pattern.sub(rf"<{tag}>\1</{tag}>", escaped)
    return escaped


def formatted_html(text: str) -> SafeString:
    """The text as WhatsApp (and Telegram) show it, as HTML: escaped first, then the marks
    made into tags, nothing else; line breaks kept by the template (white-space: pre-wrap)."""
    parts: list[str] = []
    position = 0
    for block in MONOSPACE.finditer(text):
        parts.append(_format_plain(escape(text[position : block.start()])))
        parts.append(f"<code>{escape(block.group(1))}</code>")
        position = block.end()
    parts.append(_format_plain(escape(text[position:])))
    return mark_safe("".join(parts))  # noqa: S308 (every piece of the text is escaped above)


def plain_text(text: str) -> str:
    """The text without WhatsApp's marks (what an SMS carries)."""
    text = MONOSPACE.sub(r"\1", text)
    for pattern, _tag in STYLES:
        text = pattern.sub(r"\1", text)
    return text


def with_hashtags(body: str, hashtags: list[str]) -> str:
    """The message as it goes out: the body, then its hashtags on a line of their own."""
    if not hashtags:
        return body
    tags = " ".join(f"#{tag}" for tag in hashtags)
    return f"{body.rstrip()}\n\n{tags}" if body.strip() else tags
