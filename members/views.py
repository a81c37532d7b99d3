from __future__ import annotations

from collections.abc import Iterator

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action
from cadreconnect.privacy import mask_phone
from members import exports, selectors, services
from members.forms import ConsentForm, MemberFilterForm, MemberForm, MemberMergeForm
from members.models import Consent
from members.validation import phone_display

MEMBERS_PER_PAGE = 50


def _list_filters(request: HttpRequest) -> tuple[MemberFilterForm, selectors.MemberFilters]:
    form = MemberFilterForm(request.GET or None, user=request.user)
    filters = selectors.MemberFilters()
    if form.is_valid():
        filters = selectors.MemberFilters(
            query=form.cleaned_data["q"],
            status=form.cleaned_data["status"],
            verified=form.cleaned_data["verified"],
            group=form.cleaned_data["group"],
            post=form.cleaned_data["post"],
            tag=form.cleaned_data["tag"],
        )
    return form, filters


@require_GET
def member_list(request: HttpRequest) -> HttpResponse:
    form, filters = _list_filters(request)
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    if form.errors:  # filters that do not parse list nobody (the form says what is wrong)
        page = selectors.MemberPage(
            members=[], number=1, per_page=MEMBERS_PER_PAGE, count=0, more_than=False
        )
    else:
        page = selectors.members_page(
            user=request.user, filters=filters, number=number, per_page=MEMBERS_PER_PAGE
        )
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "members/list.html",
        {"form": form, "page": page, "query_string": query_string.urlencode()},
    )


@require_GET
def member_export_csv(request: HttpRequest) -> HttpResponse:
    """The list as filtered, as CSV, streamed from the database."""
    permissions.require_somewhere(request.user, Action.MEMBER_EXPORT)
    form, filters = _list_filters(request)
    if form.errors:
        return _back_to_the_list(request)
    rows = exports.RowCounter(exports.member_export_rows(user=request.user, filters=filters))
    response = StreamingHttpResponse(
        _audited_when_sent(
            exports.members_csv_chunks(rows), request=request, filters=filters, rows=rows
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="members.csv"'
    return response


@require_GET
def member_export_xlsx(request: HttpRequest) -> HttpResponse:
    """The list as filtered, as an Excel workbook built in a temporary file, then streamed."""
    permissions.require_somewhere(request.user, Action.MEMBER_EXPORT)
    form, filters = _list_filters(request)
    if form.errors:
        return _back_to_the_list(request)
    rows = exports.RowCounter(exports.member_export_rows(user=request.user, filters=filters))
    workbook = exports.members_xlsx_file(rows)
    services.member_export_record(
        actor=request.user, filters=filters, file_format="xlsx", rows=rows.count, complete=True
    )
    return FileResponse(
        workbook,
        as_attachment=True,
        filename="members.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _audited_when_sent(
    chunks: Iterator[str], *, request: HttpRequest, filters, rows: exports.RowCounter
) -> Iterator[str]:
    """The CSV as it streams; its audit event is written when the stream ends, with the rows
    sent and whether the download finished (a closed connection ends it early)."""
    complete = False
    try:
        yield from chunks
        complete = True
    finally:
        services.member_export_record(
            actor=request.user, filters=filters, file_format="csv", rows=rows.count,
            complete=complete,
        )  # fmt: skip


def _back_to_the_list(request: HttpRequest) -> HttpResponse:
    """Filters that do not parse would export everyone: the list shows what is wrong."""
    messages.error(request, _("Correct the filters before downloading."))
    return redirect(f"{reverse('members:list')}?{request.GET.urlencode()}")


@require_GET
def member_duplicates(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "members/duplicates.html",
        {"groups": selectors.member_duplicate_groups(request.user)},
    )


@require_http_methods(["GET", "POST"])
def member_merge(request: HttpRequest) -> HttpResponse:
    """Two probable duplicates side by side (GET), and the merge of the one not kept into the
    one kept (POST): the choice is made on this page, with both records in view."""
    permissions.require_somewhere(request.user, Action.MEMBER_MERGE)
    posted = request.method == "POST"
    form = MemberMergeForm(request.POST if posted else request.GET)
    chosen = form.is_valid()
    if form.has_error("first") or form.has_error("second"):
        messages.error(request, _("Choose two members to compare on the duplicates page."))
        return redirect("members:duplicates")
    first = selectors.member_get_for_user(user=request.user, pk=form.cleaned_data["first"])
    second = selectors.member_get_for_user(user=request.user, pk=form.cleaned_data["second"])
    permissions.require(request.user, Action.MEMBER_MERGE, first.booth)
    permissions.require(request.user, Action.MEMBER_MERGE, second.booth)
    if first.pk == second.pk:
        messages.error(request, _("A member cannot be merged into themselves."))
        return redirect("members:duplicates")
    if posted and chosen:
        keep_first = form.cleaned_data["survivor"] == first.pk
        survivor, source = (first, second) if keep_first else (second, first)
        # Named before the merge: the source's row is gone after it.
        names = {"source": str(source), "survivor": str(survivor)}
        try:
            services.member_merge(actor=request.user, source=source, survivor=survivor)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("members:duplicates")
        messages.success(request, _("Merged %(source)s into %(survivor)s.") % names)
        return redirect("members:duplicates")
    return render(
        request,
        "members/merge.html",
        {
            "form": form,
            "refused": posted,  # a POST that got here chose no member to keep
            "pair": [_merge_side(first), _merge_side(second)],
            "first": first,
            "second": second,
        },
    )


def _merge_side(member) -> dict:
    return {
        "member": member,
        "consents": [consent for consent in selectors.member_consents(member=member)
                     if consent.withdrawn_at is None],
        "posts": list(member.posts.select_related("group")),
    }  # fmt: skip


@require_GET
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.member_get_for_user(user=request.user, pk=pk)
    return _detail_page(request, member, revealed=False)


@require_POST
def member_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The detail page with the full phone, WhatsApp number and voter id: an audited action
    of leads and organisers."""
    member = selectors.member_get_for_user(user=request.user, pk=pk)
    services.member_reveal(actor=request.user, member=member, via="detail")
    return _detail_page(request, member, revealed=True)


def _detail_page(request: HttpRequest, member, *, revealed: bool) -> HttpResponse:
    visible = selectors.members_visible_to(request.user)
    chain = selectors.member_referral_chain_up(member=member)
    # Only recruiters the user may see are shown (the chain can leave their area).
    shown = set(visible.filter(pk__in=[m.pk for m in chain]).values_list("pk", flat=True))
    show = phone_display if revealed else mask_phone
    return render(
        request,
        "members/detail.html",
        {
            "member": member,
            "revealed": revealed,
            "phone": show(member.phone),
            "whatsapp": show(member.whatsapp_number),
            "consents": selectors.member_consents(member=member),
            "memberships": member.memberships.select_related("group"),
            "posts": member.posts.select_related("group"),
            "recruited_by_chain": [recruiter for recruiter in chain if recruiter.pk in shown],
            "recruits": visible.filter(recruited_by=member).order_by("full_name")[:50],
            "same_epic": visible.filter(pk__in=selectors.members_with_same_epic(member=member)),
            "consent_form": ConsentForm(),
            "may_write": permissions.user_may(request.user, Action.MEMBER_WRITE, member.booth),
            "may_see_contact": permissions.user_may(request.user, Action.CONTACT_SEE, member.booth),
        },
    )


@require_http_methods(["GET", "POST"])
def member_create(request: HttpRequest) -> HttpResponse:
    permissions.require_somewhere(request.user, Action.MEMBER_WRITE)
    form = MemberForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_create(actor=request.user, **form.service_fields())
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Registered %(name)s.") % {"name": member.full_name})
            return redirect("members:detail", pk=member.pk)
    return render(request, "members/form.html", {"form": form, "title": _("Register a member")})


@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.member_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.MEMBER_WRITE, member.booth)
    if request.method == "GET":
        # The form holds the full phone: opening it is a reveal.
        services.member_reveal(actor=request.user, member=member, via="edit")
    initial = {
        "full_name": member.full_name, "name_local": member.name_local, "phone": member.phone,
        "whatsapp_number": member.whatsapp_number, "email": member.email,
        "gender": member.gender, "birth_year": member.birth_year, "epic": member.epic,
        "booth": member.booth.code, "status": member.status, "joined_on": member.joined_on,
        "recruited_by_phone": member.recruited_by.phone if member.recruited_by else "",
        "notes": member.notes,
    }  # fmt: skip
    form = MemberForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(actor=request.user, member=member, **form.service_fields())
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/form.html",
        {
            "form": form,
            "member": member,
            "title": _("Change %(name)s") % {"name": member.full_name},
        },
    )


@require_POST
def consent_grant(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.member_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.MEMBER_WRITE, member.booth)
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_grant(
            actor=request.user, member=member, purpose=form.cleaned_data["purpose"],
            source=Consent.Source.STAFF, notice_version=form.cleaned_data["notice_version"],
        )  # fmt: skip
        messages.success(request, _("Consent recorded."))
    else:
        messages.error(request, _("Choose a purpose and the notice version."))
    return redirect("members:detail", pk=member.pk)


@require_POST
def consent_withdraw(request: HttpRequest, pk: int, purpose: str) -> HttpResponse:
    member = selectors.member_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.MEMBER_WRITE, member.booth)
    if purpose not in Consent.Purpose.values:
        messages.error(request, _("Unknown purpose."))
    elif services.consent_withdraw(actor=request.user, member=member, purpose=purpose):
        messages.success(request, _("Consent withdrawn."))
    return redirect("members:detail", pk=member.pk)


# --- Import wizard ---------------------------------------------------------------------------


def _import_for_user(request: HttpRequest, pk: int):
    """The user's own import (a superuser's: any); 403 for a role that may not import, 404
    for someone else's."""
    from django.http import Http404

    from members.models import MemberImport

    permissions.require_somewhere(request.user, Action.MEMBER_IMPORT)
    imports = MemberImport.objects.select_related("default_booth")
    if not request.user.is_superuser:
        imports = imports.filter(created_by=request.user)
    try:
        return imports.get(pk=pk)
    except MemberImport.DoesNotExist as missing:
        raise Http404("No such import.") from missing


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    from members.forms import ImportUploadForm

    permissions.require_somewhere(request.user, Action.MEMBER_IMPORT)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            member_import = services.member_import_create(
                actor=request.user, uploaded=form.cleaned_data["file"]
            )
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            if member_import.queue_delayed:
                messages.warning(request, _(
                    "The file is kept, but the task queue cannot be reached just now: it will "
                    "be read within a few minutes of the queue being back."
                ))  # fmt: skip
            return redirect("members:import_mapping", pk=member_import.pk)
    return render(request, "members/import_upload.html", {"form": form})


@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    from django_htmx.http import HttpResponseClientRefresh

    from members.forms import ImportMappingForm
    from members.models import MemberImport

    member_import = _import_for_user(request, pk)
    if member_import.status == MemberImport.Status.READING:
        # The worker reads the first rows: the page asks again every second (htmx) until
        # they are there.
        template = "members/_import_reading.html" if request.htmx else "members/import_reading.html"
        return render(request, template, {"member_import": member_import})
    if request.htmx:
        return HttpResponseClientRefresh()
    if not member_import.headers:  # refused by the worker: the status page says why
        return redirect("members:import_status", pk=member_import.pk)
    initial = {f"column_{target}": str(index) for target, index in member_import.mapping.items()}
    initial.update(
        policy=member_import.policy, notice_version=member_import.notice_version,
        default_booth=member_import.default_booth.code if member_import.default_booth else "",
    )  # fmt: skip
    form = ImportMappingForm(
        request.POST or None, headers=member_import.headers, user=request.user, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.member_import_configure(
                actor=request.user, member_import=member_import, mapping=form.mapping(),
                policy=form.cleaned_data["policy"],
                notice_version=form.cleaned_data["notice_version"],
                default_booth=form.cleaned_data["default_booth"],
            )  # fmt: skip
            services.member_import_start(actor=request.user, member_import=member_import,
                                         dry_run=True)  # fmt: skip
        except ApplicationError as error:
            form.add_error(None, error.message)
        except permissions.OutsideArea:
            form.add_error("default_booth", _("No active booth with this code in your area."))
        else:
            return redirect("members:import_status", pk=member_import.pk)
    return render(
        request,
        "members/import_mapping.html",
        {"member_import": member_import, "form": form, "sample": member_import.sample},
    )


def _problems_for_page(member_import) -> tuple[list[dict], list[dict]]:
    """The import's first errors (rows rejected) and warnings (rows landed with a field left
    empty), with the columns named in the reader's language."""
    from members.importing import column_label

    errors, warnings = [], []
    for problem in member_import.problems[:400]:
        shown = {**problem, "label": column_label(problem.get("column", ""))}
        (warnings if problem.get("severity") == "warning" else errors).append(shown)
    return errors[:100], warnings[:100]


@require_GET
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    from members.models import MemberImport

    member_import = _import_for_user(request, pk)
    template = "members/_import_progress.html" if request.htmx else "members/import_status.html"
    errors, warnings = _problems_for_page(member_import)
    # Once part of the file is written, its columns stay: it is finished, not checked again.
    partly_written = (
        member_import.status == MemberImport.Status.FAILED and member_import.batches.exists()
    )
    return render(request, template, {
        "member_import": member_import, "errors": errors, "warnings": warnings,
        "partly_written": partly_written,
    })  # fmt: skip


@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    member_import = _import_for_user(request, pk)
    try:
        services.member_import_start(actor=request.user, member_import=member_import,
                                     dry_run=False)  # fmt: skip
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("members:import_status", pk=member_import.pk)


@require_GET
def imports_in_progress(request: HttpRequest) -> HttpResponse:
    """The checks and imports running now: everyone's for an overseer, the user's own
    otherwise; the list refreshes itself (htmx) while any is in progress."""
    template = (
        "members/_imports_in_progress.html" if request.htmx else "members/imports_in_progress.html"
    )
    return render(request, template, {
        "imports": selectors.member_imports_in_progress(user=request.user),
        "overseer": services.imports_overseen_by(request.user),
    })  # fmt: skip


@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    from django.shortcuts import get_object_or_404

    member_import = get_object_or_404(selectors.member_imports_watched_by(request.user), pk=pk)
    try:
        services.member_import_cancel(actor=request.user, member_import=member_import)
    except permissions.Forbidden:
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(file)s: cancelled.") % {"file": member_import.original_name})
    if request.user.is_superuser or member_import.created_by_id == request.user.pk:
        return redirect("members:import_status", pk=member_import.pk)
    return redirect("members:imports_in_progress")


@require_GET
def import_rejects(request: HttpRequest, pk: int):
    from pathlib import Path

    from django.conf import settings
    from django.http import FileResponse, Http404

    member_import = _import_for_user(request, pk)
    if not member_import.rejects_file:
        raise Http404("No report yet.")
    path = Path(settings.MEDIA_ROOT) / member_import.rejects_file
    if not path.exists():
        raise Http404("No report yet.")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"rejected-rows-{member_import.pk}.csv",
        content_type="text/csv; charset=utf-8",
    )  # fmt: skip
