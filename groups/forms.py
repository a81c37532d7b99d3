from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cadreconnect.validation import ControlCharactersRefused
from groups import selectors
from groups.models import Group, Kind, Role, code_validator, whatsapp_invite_validator

TELEGRAM_CHAT_ID_LIMIT = 10**15


class GroupLinksForm(ControlCharactersRefused, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_local = forms.CharField(
        label=_("Name in the local script"), max_length=200, required=False
    )
    whatsapp_invite_link = forms.CharField(
        label=_("WhatsApp invite link"),
        max_length=200,
        required=False,
        validators=[whatsapp_invite_validator],
        widget=forms.URLInput(attrs={"placeholder": "https://chat.whatsapp.com/…"}),
    )
    telegram_chat_id = forms.IntegerField(
        label=_("Telegram chat id"),
        required=False,
        min_value=-TELEGRAM_CHAT_ID_LIMIT,
        max_value=TELEGRAM_CHAT_ID_LIMIT,
        help_text=_("The numeric id of the group, e.g. -1001234567890."),
    )


class GroupChildForm(GroupLinksForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        help_text=_("Capital letters and digits joined by hyphens, e.g. S24-AC-403-B-0012."),
    )
    kind = forms.TypedChoiceField(label=_("Kind"), coerce=int)

    field_order = ["kind", "name", "name_local", "code", "whatsapp_invite_link", "telegram_chat_id"]

    def __init__(self, *args, parent: Group, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (value, label) for value, label in Kind.choices if value > parent.kind
        ]
        self.parent = parent

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        code_validator(code)
        if Group.objects.filter(code=code).exists():
            raise forms.ValidationError(
                _("The code %(code)s is already in use."), params={"code": code}
            )
        return code


class GroupCodeField(forms.CharField):
    """A node picked by its code, among the nodes the user may see."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)
        self.user: User | None = None

    def clean(self, value: str) -> Group | None:
        code = (super().clean(value) or "").strip().upper()
        if not code and not self.required:
            return None
        group = selectors.groups_visible_to(self.user).filter(code=code).first()
        if group is None:
            raise forms.ValidationError(
                _("No group with the code %(code)s in your area."), params={"code": code}
            )
        return group


class GroupMoveForm(ControlCharactersRefused, forms.Form):
    new_parent = GroupCodeField(
        label=_("New parent (code)"),
        help_text=_("Type a name or code to find it."),
        widget=forms.TextInput(attrs={"list": "group-suggestions", "autocomplete": "off"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].user = user


class BoothMergeForm(ControlCharactersRefused, forms.Form):
    survivor = GroupCodeField(
        label=_("Booth that stays (code)"),
        help_text=_("Everything of this booth moves to the one that stays."),
        widget=forms.TextInput(attrs={"list": "group-suggestions", "autocomplete": "off"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survivor"].user = user


class RoleGiveForm(forms.Form):
    """The roles page: who gets which role at the node. Only the roles the user may give there
    are offered; any other role (a forged form) reaches the service, which refuses it."""

    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    full_name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Needed when the person has no account yet: one is created for them."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, roles: list[Role], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].widget.choices = [(role.value, role.label) for role in roles]


class DelimitationUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Mapping file (CSV in UTF-8)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class BoothPlaceForm(forms.Form):
    # The service decides whether the actor may place there (403 role, 404 area): the field
    # offers the user's constituencies but takes a code.
    constituency = forms.CharField(label=_("Assembly constituency"), max_length=64)

    def __init__(self, *args, constituencies, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["constituency"].widget = forms.Select(
            choices=[(group.code, f"{group.code} {group.name}") for group in constituencies]
        )
