from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cadreconnect.validation import ControlCharactersRefused
from groups.forms import GroupCodeField
from groups.models import Kind
from members import selectors
from members.models import Consent, Member, Post, Tag
from members.validation import (
    birth_year_check,
    epic_normalise,
    joined_on_check,
    phone_normalise,
)


class MemberForm(ControlCharactersRefused, forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    name_local = forms.CharField(
        label=_("Name in the local script"), max_length=200, required=False
    )
    phone = forms.CharField(
        label=_("Phone"), max_length=32, help_text=_("Any common form: 098…, +91 98…, 98…-…")
    )
    whatsapp_number = forms.CharField(
        label=_("WhatsApp number, if not the phone"), max_length=32, required=False
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), *Member.Gender.choices], required=False
    )
    birth_year = forms.IntegerField(label=_("Birth year"), required=False)
    epic = forms.CharField(label=_("Voter id (EPIC)"), max_length=40, required=False)
    booth = GroupCodeField(
        label=_("Home booth (code)"),
        widget=forms.TextInput(attrs={"list": "group-suggestions", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label=_("Status"), choices=Member.Status.choices)
    joined_on = forms.DateField(
        label=_("Joined"),
        initial=datetime.date.today,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    recruited_by_phone = forms.CharField(
        label=_("Recruited by (their phone)"), max_length=32, required=False
    )
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea, required=False, max_length=5000
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["booth"].user = user

    def clean_phone(self) -> str:
        return phone_normalise(self.cleaned_data["phone"])

    def clean_whatsapp_number(self) -> str:
        value = self.cleaned_data["whatsapp_number"]
        return phone_normalise(value) if value.strip() else ""

    def clean_epic(self) -> str:
        return epic_normalise(self.cleaned_data["epic"])

    def clean_birth_year(self) -> int | None:
        return birth_year_check(self.cleaned_data["birth_year"])

    def clean_joined_on(self) -> datetime.date | None:
        return joined_on_check(self.cleaned_data["joined_on"])

    def clean_booth(self):
        booth = self.cleaned_data["booth"]
        if booth.kind != Kind.BOOTH:
            raise forms.ValidationError(
                _("%(name)s is not a polling booth."), params={"name": booth.name}
            )
        return booth

    def clean_recruited_by_phone(self) -> Member | None:
        value = self.cleaned_data["recruited_by_phone"].strip()
        if not value:
            return None
        phone = phone_normalise(value)
        recruiter = selectors.members_visible_to(self.user).filter(phone=phone).first()
        if recruiter is None:
            raise forms.ValidationError(_("No member with that phone in your area."))
        return recruiter

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["recruited_by"] = data.pop("recruited_by_phone")
        return data


class MemberFilterForm(ControlCharactersRefused, forms.Form):
    q = forms.CharField(label=_("Name, phone or voter id"), max_length=100, required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any")), *Member.Status.choices], required=False
    )
    verified = forms.ChoiceField(
        label=_("Verified"),
        choices=[("", _("Any")), ("yes", _("Verified")), ("no", _("Not verified"))],
        required=False,
    )
    group = GroupCodeField(label=_("Within group (code)"), required=False)
    post = forms.ChoiceField(
        label=_("Holds the office"),
        choices=[("", _("Any")), *Post.Office.choices],
        required=False,
        # The default message repeats the value, which may be anything a URL can carry.
        error_messages={"invalid_choice": _("Choose an office from the list.")},
    )
    tag = forms.ModelChoiceField(
        label=_("Tag"),
        queryset=Tag.objects.all(),
        required=False,
        empty_label=_("Any"),
        error_messages={"invalid_choice": _("Choose a tag from the list.")},
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].user = user


class ConsentForm(ControlCharactersRefused, forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Consent.Purpose.choices)
    notice_version = forms.CharField(label=_("Notice version"), max_length=32, initial="2026-1")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Member list (CSV in UTF-8, or Excel .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )


class ImportMappingForm(forms.Form):
    """One choice per field of the register: which column of the file holds it; what happens
    to members already registered; the booth of rows that name none."""

    policy = forms.ChoiceField(label=_("Members already registered (same phone)"))
    notice_version = forms.CharField(
        label=_("Consent notice version the file's consents were given to"),
        max_length=32,
        required=False,
    )
    default_booth = GroupCodeField(
        label=_("Booth for the whole file (code)"),
        required=False,
        help_text=_(
            "Used for every row that names no booth; a file without a booth column needs it."
        ),
        widget=forms.TextInput(attrs={"list": "group-suggestions", "autocomplete": "off"}),
    )

    def __init__(self, *args, headers: list[str], user: User, **kwargs) -> None:
        from members.importing import REQUIRED_TARGETS, TARGETS, column_label
        from members.models import MemberImport

        super().__init__(*args, **kwargs)
        self.fields["policy"].choices = MemberImport.Policy.choices
        self.fields["default_booth"].user = user
        columns = [("", _("— not in the file —"))] + [
            (str(index), f"{index + 1}: {header or '?'}") for index, header in enumerate(headers)
        ]
        for target in TARGETS:
            self.fields[f"column_{target}"] = forms.ChoiceField(
                label=column_label(target),
                choices=columns,
                # The booth may come from the booth for the whole file instead (clean).
                required=target in REQUIRED_TARGETS and target != "booth",
                error_messages={"invalid_choice": _("Choose a column from the list.")},
            )

    def clean_default_booth(self):
        booth = self.cleaned_data["default_booth"]
        if booth is not None and booth.kind != Kind.BOOTH:
            raise forms.ValidationError(
                _("%(name)s is not a polling booth."), params={"name": booth.name}
            )
        return booth

    def clean(self) -> dict:
        cleaned = super().clean()
        no_booth = not cleaned.get("column_booth") and not cleaned.get("default_booth")
        if no_booth and "default_booth" not in self.errors:
            self.add_error(
                "column_booth",
                _("Choose the column of booth codes, or give a booth for the whole file."),
            )
        return cleaned

    def mapping(self) -> dict[str, int]:
        return {
            name.removeprefix("column_"): int(value)
            for name, value in self.cleaned_data.items()
            if name.startswith("column_") and value != ""
        }


class MemberMergeForm(forms.Form):
    """One pair of the duplicates page: which of the two members stays."""

    first = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    second = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    survivor = forms.IntegerField(label=_("Keep"), required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        pair = {cleaned.get("first"), cleaned.get("second")}
        if cleaned.get("survivor") not in pair:
            raise forms.ValidationError(_("Choose which of the two members to keep."))
        return cleaned

    @property
    def source_pk(self) -> int:
        first, second = self.cleaned_data["first"], self.cleaned_data["second"]
        return second if self.cleaned_data["survivor"] == first else first
