"""Admin pages that change state only through the services.

The admin saves a model's form and its inlines inside one transaction
(`ModelAdmin.changeform_view`). Our `save_model`, `save_formset` and `delete_*` call the
services instead of saving rows, so the admin has the same checks and audit events as the
portal. A refusal (`ApplicationError`, the permission table's `Forbidden` included) rolls that
whole transaction back and shows the same form again, with the user's input and the refusal
as its error, never a 500.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from cadreconnect.exceptions import ApplicationError


class ThroughServicesAdmin(admin.ModelAdmin):
    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as refusal:
            if request.method != "POST":
                raise
            # Nothing was written (the transaction rolled back): show the form again, bound
            # to what was sent, with the service's message as the form's error.
            request._service_refusal = refusal.message
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                super().clean()
                raise ValidationError(refusal, code="refused")

        return RefusedForm

    def delete_view(self, request: HttpRequest, object_id, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)  # in a transaction
        except ApplicationError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def response_action(self, request: HttpRequest, queryset) -> HttpResponse | None:
        """Bulk actions (the delete action among them) run in one transaction: a refusal of one
        row undoes the others and is shown as a message."""
        try:
            with transaction.atomic():
                return super().response_action(request, queryset)
        except ApplicationError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def copy_saved_row(*, saved: models.Model, into: models.Model) -> None:
    """Make the admin's unsaved object the row a service saved, so that the admin's log entry,
    its message and the inlines that follow refer to it."""
    for field in saved._meta.concrete_fields:
        setattr(into, field.attname, getattr(saved, field.attname))
    into._state.adding = False
    into._state.db = saved._state.db


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the admin shows and nobody changes there: their changes are the services' own
    (imports, content)."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
