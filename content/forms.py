"""The content pages' forms: the editor (a text, a caption and a file per language, the targets
by group code), a decision, a withdrawal, the library's filters.

The forms check the shape of what is sent; the rules (a text in at least one language, times
in the future, targets where the author may draft) are content.services', whose refusals the
views show on the form.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cadreconnect.validation import ControlCharactersRefused
from content.models import Content, Decision
from groups.models import Group
from groups.selectors import groups_visible_to
from members.models import Post

MAX_TARGET_ROWS = 200
# Empty target rows the editor offers below the targets chosen so far.
SPARE_TARGET_ROWS = 3
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


def languages() -> list[tuple[str, str]]:
    return list(settings.CONTENT_LANGUAGES)


class ContentForm(ControlCharactersRefused, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Content.Kind.choices)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Content.Priority.choices, coerce=int,
        initial=Content.Priority.NORMAL,
    )  # fmt: skip
    campaign_tags = forms.CharField(
        label=_("Campaign tags"), required=False, max_length=1100,
        help_text=_("Words separated by spaces or commas."),
    )  # fmt: skip
    hashtags = forms.CharField(
        label=_("Hashtags"), required=False, max_length=1100,
        help_text=_("Sent with the message, e.g. #VoteForChange #Goa."),
    )  # fmt: skip
    send_at = forms.DateTimeField(
        label=_("Send at"), required=False, widget=DateTimeLocalInput(),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text=_("Empty: as soon as it is approved."),
    )  # fmt: skip
    expires_at = forms.DateTimeField(
        label=_("Expires at"), required=False, widget=DateTimeLocalInput(),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text=_("Empty: never."),
    )  # fmt: skip
    default_language = forms.ChoiceField(
        label=_("Default language"),
        help_text=_("Sent where no other language fits."),
    )  # fmt: skip

    def __init__(self, *args, user, stored: dict[str, object] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # The files the content has already, by language (kept unless replaced or removed).
        self.stored = stored or {}
        self.fields["default_language"].choices = languages()
        self.fields["default_language"].initial = languages()[0][0]
        for code, _name in languages():
            self.fields[f"body_{code}"] = forms.CharField(
                label=_("Text"), required=False, strip=False,
                max_length=settings.CONTENT_BODY_MAX_CHARS,
                widget=forms.Textarea(attrs={"rows": 8, "lang": code, "data-preview": ""}),
            )  # fmt: skip
            self.fields[f"caption_{code}"] = forms.CharField(
                label=_("Caption"), required=False, max_length=1024,
                widget=forms.TextInput(attrs={"lang": code}),
            )  # fmt: skip
            self.fields[f"media_{code}"] = forms.FileField(
                label=_("File (image, video or document)"), required=False
            )
            self.fields[f"remove_media_{code}"] = forms.BooleanField(
                label=_("Remove the file"), required=False
            )
        self.target_rows: list[tuple[str, str]] = []

    def language_panels(self) -> list[dict]:
        """Per language, its fields and the file it has, for the editor's tabs."""
        return [
            {
                "code": code, "name": name, "body": self[f"body_{code}"],
                "caption": self[f"caption_{code}"], "media": self[f"media_{code}"],
                "remove_media": self[f"remove_media_{code}"], "stored": self.stored.get(code),
            }
            for code, name in languages()
        ]  # fmt: skip

    def clean_send_at(self):
        return _aware(self.cleaned_data.get("send_at"))

    def clean_expires_at(self):
        return _aware(self.cleaned_data.get("expires_at"))

    def clean(self) -> dict:
        cleaned = super().clean()
        codes = self.data.getlist("target") if hasattr(self.data, "getlist") else []
        posts = self.data.getlist("target_post") if hasattr(self.data, "getlist") else []
        if len(codes) > MAX_TARGET_ROWS:
            raise forms.ValidationError(
                _("At most %(max)s targets."), params={"max": MAX_TARGET_ROWS}
            )
        offices = set(Post.Office.values)
        rows: list[tuple[str, str]] = []
        for index, raw in enumerate(codes):
            code = str(raw).strip().upper()[:64]
            post = str(posts[index]).strip() if index < len(posts) else ""
            if code:
                rows.append((code, post))
        self.target_rows = rows
        visible = {
            group.code: group
            for group in groups_visible_to(self.user).filter(code__in=[c for c, _ in rows])
        }
        targets: list[tuple[Group, str]] = []
        for code, post in rows:
            group = visible.get(code)
            if group is None:
                self.add_error(
                    None,
                    _("There is no group with the code %(code)s in your area.") % {"code": code},
                )
                continue
            if post and post not in offices:
                self.add_error(None, _("No such office."))
                continue
            targets.append((group, post))
        cleaned["targets"] = targets
        return cleaned


def _aware(moment):
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def office_choices() -> list[tuple[str, str]]:
    return [("", _("everyone")), *list(Post.Office.choices)]


class DecisionForm(ControlCharactersRefused, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=Decision.Verdict.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed when you request changes or reject."),
    )  # fmt: skip
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**62)


class WithdrawForm(ControlCharactersRefused, forms.Form):
    reason = forms.CharField(
        label=_("Why is it withdrawn?"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class LibraryFilterForm(ControlCharactersRefused, forms.Form):
    q = forms.CharField(label=_("Search title and text"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("any")), *list(Content.Kind.choices)]
    )
    language = forms.ChoiceField(label=_("Language"), required=False)
    tag = forms.CharField(label=_("Campaign tag"), required=False, max_length=50)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("any")), *languages()]

    def clean_tag(self) -> str:
        return self.cleaned_data["tag"].strip().lstrip("#")
