"""How a text shows on each channel: SMS segments (GSM-7 and UCS-2) and WhatsApp's marks."""

from __future__ import annotations

import pytest

from content.channels import (
    GSM7,
    UCS2,
    formatted_html,
    plain_text,
    sms_segments,
    with_hashtags,
)


@pytest.mark.parametrize(
    ("text", "segments", "per_segment"),
    [
        ("", 0, 160),
        ("a" * 160, 1, 160),
        ("a" * 161, 2, 153),
        ("a" * 306, 2, 153),
        ("a" * 307, 3, 153),
    ],
)
def test_latin_text_is_gsm7_160_alone_and_153_a_segment_when_split(text, segments, per_segment):
    count = sms_segments(text)
    assert (count.encoding, count.segments, count.per_segment) == (GSM7, segments, per_segment)
    assert count.units == len(text)


@pytest.mark.parametrize(
    ("text", "segments", "per_segment"),
    [
        ("क" * 70, 1, 70),
        ("क" * 71, 2, 67),
        ("क" * 134, 2, 67),
        ("क" * 135, 3, 67),
        # One Hindi letter in a Latin text makes all of it UCS-2.
        ("a" * 69 + "ा", 1, 70),
        ("a" * 70 + "ा", 2, 67),
    ],
)
def test_hindi_text_is_ucs2_70_alone_and_67_a_segment_when_split(text, segments, per_segment):
    count = sms_segments(text)
    assert (count.encoding, count.segments, count.per_segment) == (UCS2, segments, per_segment)


def test_gsm7_extension_characters_count_twice_and_are_never_split():
    assert sms_segments("€" * 80).units == 160
    assert sms_segments("€" * 80).segments == 1
    assert sms_segments("[" * 81).segments == 2
    # 152 letters and a "{" (two septets) fill 154 > 153: the "{" goes to the second segment.
    count = sms_segments("a" * 152 + "{" + "b" * 10)
    assert (count.units, count.segments) == (164, 2)
    assert sms_segments("^{}\\[~]|€").encoding == GSM7


def test_an_emoji_is_two_ucs2_units():
    count = sms_segments("😀" * 35)
    assert (count.encoding, count.units, count.segments) == (UCS2, 70, 1)
    assert sms_segments("😀" * 36).segments == 2


def test_whatsapp_marks_become_tags_and_everything_else_is_escaped():
    html = formatted_html("*bold* _it_ ~gone~ ```x <y>``` <script>alert(1)</script> snake_case")
    assert "<strong>bold</strong>" in html
    assert "<em>it</em>" in html
    assert "<s>gone</s>" in html
    assert "<code>x &lt;y&gt;</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "snake_case" in html
    assert "2*3*4" in formatted_html("2*3*4")


def test_sms_text_has_no_marks_and_hashtags_go_at_the_end():
    assert plain_text("*Rally* on _Sunday_ ```10:00```") == "Rally on Sunday 10:00"
    assert with_hashtags("Come", ["Goa", "Vote"]) == "Come\n\n#Goa #Vote"
