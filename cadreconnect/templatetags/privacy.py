"""Masked phones and voter ids in templates: `{{ member.phone|masked_phone }}`."""

from django import template

from cadreconnect.privacy import mask_epic, mask_phone

register = template.Library()


@register.filter
def masked_phone(value: str) -> str:
    return mask_phone(value or "")


@register.filter
def masked_epic(value: str) -> str:
    return mask_epic(value or "")
