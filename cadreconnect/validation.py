"""Text that no field of the portal takes: control characters.

A NUL byte cannot be stored in PostgreSQL text at all (the query fails: a 500), and the other
control characters of C0 and DEL are never typed by a person; they arrive pasted from other
programs or from someone probing. Tab, line feed and carriage return are ordinary text (a
multi-line note). Used by the forms, the member import's row check and the middleware that
answers 400 for query strings and form data (cadreconnect.middleware).
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def refuse_control_characters(text: str) -> None:
    """A validator for form fields: a clear message, never the character itself."""
    if isinstance(text, str) and has_control_characters(text):
        raise ValidationError(
            _("This text holds a control character (such as a NUL byte); remove it."),
            code="control_characters",
        )


class ControlCharactersRefused:
    """Form mixin: every text field of the form refuses control characters with a form error
    (Django's CharField refuses NUL alone)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.validators.append(refuse_control_characters)
