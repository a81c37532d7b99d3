"""Counts as India writes them, in every language of the portal: `{{ count|indian }}` gives
12,34,567 (thousands, then groups of two: lakhs and crores)."""

from __future__ import annotations

from django import template

register = template.Library()


def indian_grouping(number: int) -> str:
    sign, digits = ("-", str(-number)) if number < 0 else ("", str(number))
    if len(digits) <= 3:
        return sign + digits
    head, last_three = digits[:-3], digits[-3:]
    pairs = []
    while len(head) > 2:
        head, pair = head[:-2], head[-2:]
        pairs.insert(0, pair)
    return sign + ",".join([head, *pairs, last_three])


@register.filter
def indian(value) -> str:
    """An integer with Indian digit grouping; anything that is not a whole number as it is."""
    if value is None or value == "":
        return ""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value)
    if number != value and str(number) != str(value).strip():
        return str(value)  # a fraction or text: not ours to group
    return indian_grouping(number)
