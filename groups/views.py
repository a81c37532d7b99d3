from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services as account_services
from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action
from cadreconnect.spreadsheets import Echo, spreadsheet_safe
from groups import selectors, services
from groups.forms import (
    BoothMergeForm,
    BoothPlaceForm,
    DelimitationUploadForm,
    GroupChildForm,
    GroupLinksForm,
    GroupMoveForm,
    RoleGiveForm,
)
from groups.models import Assignment, Group, Kind, Role

CHILDREN_PER_PAGE = 50


@require_GET
def group_browser(request: HttpRequest) -> HttpResponse:
    """The tree from the top of the user's scope; children load when a node is opened."""
    return render(
        request, "groups/browser.html", {"tops": selectors.group_scope_tops(user=request.user)}
    )


@require_GET
def group_children(request: HttpRequest, pk: int) -> HttpResponse:
    """One page of a node's children (the browser loads it into the opened node)."""
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    page = _children_page(request, group)
    return render(request, "groups/_children.html", {"group": group, "page": page})


def _children_page(request: HttpRequest, group: Group):
    children = selectors.group_children(user=request.user, group=group).select_related("figures")
    return Paginator(children, CHILDREN_PER_PAGE).get_page(request.GET.get("page"))


@require_GET
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "groups/detail.html",
        {
            "group": group,
            "breadcrumb": selectors.group_breadcrumb(user=request.user, group=group),
            "figures": selectors.group_figures(group=group),
            "leads": selectors.group_leads(group=group),
            "page": _children_page(request, group),
            "can_manage": selectors.group_can_manage(user=request.user, group=group),
            "may_manage_roles": permissions.user_may(request.user, Action.ROLE_MANAGE, group),
            "is_national": group.kind == Kind.NATIONAL,
            "may_delimit": group.kind == Kind.NATIONAL
            and permissions.user_may(request.user, Action.TREE_CHANGE, group),
            "booths_waiting": _booths_waiting(request),
        },
    )


def _booths_waiting(request: HttpRequest) -> int:
    from groups.delimitation import office

    return office.delimitation_waiting_count(user=request.user)


@require_GET
def group_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    results = list(selectors.groups_search(user=request.user, query=query))
    template = "groups/_search_results.html" if request.htmx else "groups/search.html"
    return render(request, template, {"query": query, "results": results})


@require_GET
def group_autocomplete(request: HttpRequest) -> HttpResponse:
    """Suggestions for a code field: JSON, or <option>s for a datalist when htmx asks.

    The query is `q`, or the value of the one field an htmx-enhanced input sends."""
    query = request.GET.get("q") or next(iter(request.GET.values()), "")
    results = selectors.groups_search(user=request.user, query=query, limit=20)
    if request.htmx:
        return render(request, "groups/_suggestions.html", {"results": results})
    return JsonResponse(
        {
            "results": [
                {"id": group.pk, "code": group.code, "name": group.name, "kind": group.kind}
                for group in results
            ]
        }
    )


@require_GET
def group_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The node's whole subtree as CSV, streamed in tree order."""
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    nodes = selectors.group_subtree(group).order_by("tree_id", "lft").values_list(
        "code", "name", "name_local", "kind", Coalesce("parent__code", "upper__code"),
        "whatsapp_invite_link",
        "telegram_chat_id", "electors", "is_generated", "is_active", "designation",
        "electors_estimated",
    )  # fmt: skip

    def rows() -> Iterator[str]:
        echo = Echo()
        writer = csv.writer(echo)
        yield "\ufeff" + writer.writerow(
            ["code", "name", "name_local", "kind", "parent_code", "whatsapp_invite_link",
             "telegram_chat_id", "electors", "generated", "active", "designation",
             "electors_estimated"]
        )  # fmt: skip
        for node in nodes.iterator(chunk_size=5000):
            values = list(node)
            values[3] = Kind(values[3]).name.lower()
            yield writer.writerow([spreadsheet_safe(value) for value in values])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="groups-{group.code}.csv"'
    return response


# --- Changes --------------------------------------------------------------------------------


def _form_page(
    request: HttpRequest, group: Group, form, title: str, *, suggest: bool = False
) -> HttpResponse:
    """One of the change forms of a group; `title` takes the group's name as %(name)s."""
    return render(
        request,
        "groups/form.html",
        {"group": group, "form": form, "title": title % {"name": group.name}, "suggest": suggest},
    )


@require_http_methods(["GET", "POST"])
def group_create_child(request: HttpRequest, pk: int) -> HttpResponse:
    parent = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.TREE_CHANGE, parent)
    form = GroupChildForm(request.POST or None, parent=parent)
    if request.method == "POST" and form.is_valid():
        try:
            child = services.group_create_child(
                actor=request.user, parent=parent, **form.cleaned_data
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Added %(name)s.") % {"name": child.name})
            return redirect("groups:detail", pk=child.pk)
    return _form_page(request, parent, form, _("Add a group under %(name)s"))


@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.TREE_CHANGE, group)
    initial = {
        "name": group.name,
        "name_local": group.name_local,
        "whatsapp_invite_link": group.whatsapp_invite_link,
        "telegram_chat_id": group.telegram_chat_id,
    }
    form = GroupLinksForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.group_update(actor=request.user, group=group, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("groups:detail", pk=group.pk)
    return _form_page(request, group, form, _("Change %(name)s"))


@require_http_methods(["GET", "POST"])
def group_move(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.TREE_CHANGE, group)
    form = GroupMoveForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        new_parent = form.cleaned_data["new_parent"]
        try:
            services.group_move(actor=request.user, group=group, new_parent=new_parent)
        except ApplicationError as error:
            form.add_error("new_parent", error.message)
        else:
            messages.success(
                request,
                _("Moved %(name)s under %(parent)s.")
                % {"name": group.name, "parent": new_parent.name},
            )
            return redirect("groups:detail", pk=group.pk)
    return _form_page(request, group, form, _("Move %(name)s"), suggest=True)


@require_http_methods(["GET", "POST"])
def group_merge(request: HttpRequest, pk: int) -> HttpResponse:
    source = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.TREE_CHANGE, source)
    form = BoothMergeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        survivor = form.cleaned_data["survivor"]
        try:
            services.group_merge_booths(actor=request.user, source=source, survivor=survivor)
        except ApplicationError as error:
            form.add_error("survivor", error.message)
        else:
            messages.success(
                request,
                _("Merged %(source)s into %(survivor)s.")
                % {"source": source.name, "survivor": survivor.name},
            )
            return redirect("groups:detail", pk=survivor.pk)
    return _form_page(request, source, form, _("Merge %(name)s into another booth"), suggest=True)


@require_POST
def group_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.TREE_CHANGE, group)
    try:
        count = services.group_deactivate(actor=request.user, group=group)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Deactivated %(count)s groups.") % {"count": count})
    return redirect("groups:detail", pk=group.pk)


@require_POST
def group_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.TREE_CHANGE, group)
    try:
        services.group_reactivate(actor=request.user, group=group)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Reactivated %(name)s.") % {"name": group.name})
    return redirect("groups:detail", pk=group.pk)


# --- Roles ----------------------------------------------------------------------------------


def _role_refused(error: ApplicationError) -> None:
    """A role above the user's own (a forged form: the page offers only the roles they may
    give) is a 403 like any other refusal of the permission table."""
    if error.code == "role_above_own":
        raise PermissionDenied(error.message) from error


@require_http_methods(["GET", "POST"])
def group_roles(request: HttpRequest, pk: int) -> HttpResponse:
    """The roles held at a node: a lead gives and takes them away here, as the table allows."""
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.ROLE_MANAGE, group)
    grantable = [
        role for role in Role
        if permissions.role_grant_allowed(request.user, group=group, role=role)
    ]  # fmt: skip
    form = RoleGiveForm(request.POST or None, roles=grantable)
    if request.method == "POST" and form.is_valid():
        try:
            assignment, created = services.role_give(
                actor=request.user, group=group, email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"], role=form.cleaned_data["role"],
            )  # fmt: skip
        except ApplicationError as error:
            _role_refused(error)
            form.add_error(None, error.message)
        else:
            if created:
                account_services.user_password_set_mail_send(request=request, user=assignment.user)
            message = (
                _("Gave %(user)s the role of %(role)s at %(group)s; they were sent an e-mail "
                  "to set their password.")
                if created
                else _("Gave %(user)s the role of %(role)s at %(group)s.")
            )  # fmt: skip
            messages.success(request, message % _role_names(assignment))
            return redirect("groups:roles", pk=group.pk)
    roles = [
        (assignment, assignment.role in grantable)
        for assignment in selectors.group_roles(group=group)
    ]
    return render(
        request,
        "groups/roles.html",
        {"group": group, "form": form, "roles": roles, "grantable": grantable},
    )


@require_POST
def group_role_remove(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    group = selectors.group_get_for_user(user=request.user, pk=pk)
    permissions.require(request.user, Action.ROLE_MANAGE, group)
    assignment = get_object_or_404(
        Assignment.objects.select_related("user", "group"), pk=assignment_pk, group=group
    )
    try:
        services.assignment_remove(actor=request.user, assignment=assignment)
    except ApplicationError as error:
        _role_refused(error)
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Took the role of %(role)s at %(group)s from %(user)s.") % _role_names(assignment),
        )
    return redirect("groups:roles", pk=group.pk)


def _role_names(assignment: Assignment) -> dict[str, str]:
    return {
        "user": str(assignment.user),
        "role": str(Role(assignment.role).label).lower(),
        "group": assignment.group.name,
    }


# --- Delimitation ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def delimitation_upload(request: HttpRequest) -> HttpResponse:
    """The national office uploads a mapping; a worker runs its dry run, which the check's
    page shows. The engine's rule (TREE_CHANGE at the national node) holds on GET too."""
    from groups.delimitation import office

    office.delimitation_office_require(request.user)
    form = DelimitationUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            data = office.delimitation_upload_read(uploaded)
            check = office.delimitation_check_request(
                actor=request.user, data=data, file_name=uploaded.name
            )
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            return redirect("groups:delimitation_check", pk=check.pk)
    return render(request, "groups/delimitation.html", {"form": form})


def _delimitation_check(request: HttpRequest, pk: int):
    from groups.delimitation import office

    office.delimitation_office_require(request.user)  # 403 / 404 before anything is looked up
    return office.delimitation_check_get(actor=request.user, pk=pk)


@require_GET
def delimitation_check(request: HttpRequest, pk: int) -> HttpResponse:
    """A mapping's check: "Checking…" (asked again every two seconds, htmx) until the worker
    answers; then what the mapping would change and "Apply", or its problems."""
    from django_htmx.http import HttpResponseClientRefresh

    from groups.delimitation import office

    check = _delimitation_check(request, pk)
    stalled = office.delimitation_check_stalled(check)
    in_progress = check.status in (check.Status.WAITING, check.Status.CHECKING) and not stalled
    if request.htmx:
        if not in_progress:
            return HttpResponseClientRefresh()
        return render(request, "groups/_delimitation_checking.html", {"check": check})
    report = check.report or {}
    return render(
        request,
        "groups/delimitation_check.html",
        {
            "check": check,
            "in_progress": in_progress,
            "stalled": stalled,
            "report": report,
            "steps": office.delimitation_report_bounded(report),
        },
    )


@require_POST
def delimitation_check_again(request: HttpRequest, pk: int) -> HttpResponse:
    from groups.delimitation import office

    check = _delimitation_check(request, pk)
    try:
        office.delimitation_check_again(actor=request.user, check=check)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("groups:delimitation_check", pk=check.pk)


@require_GET
def delimitation_check_codes(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every code the checked mapping changes, as CSV (the page shows the first ones)."""
    from groups.delimitation import office

    check = _delimitation_check(request, pk)

    def rows() -> Iterator[str]:
        writer = csv.writer(Echo())
        yield "\ufeff" + writer.writerow(["step", "state", "code_now", "code_after", "booths"])
        for row in office.delimitation_report_codes(check.report or {}):
            yield writer.writerow([spreadsheet_safe(value) for value in row])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="delimitation-{check.pk}-codes.csv"'
    return response


@require_POST
def delimitation_apply(request: HttpRequest) -> HttpResponse:
    from groups.delimitation import office

    office.delimitation_office_require(request.user)  # 403 / 404, not a message
    pk = request.POST.get("check", "")
    if not (pk.isascii() and pk.isdigit()) or len(pk) > 18:
        raise Http404(_("No such mapping file."))
    check = office.delimitation_check_get(actor=request.user, pk=int(pk))
    try:
        office.delimitation_run_request(actor=request.user, check=check)
    except ApplicationError as error:
        messages.error(request, error.message)
        if request.POST.get("from") == "status":
            return redirect("groups:delimitation_status", digest=check.digest)
        return redirect("groups:delimitation_check", pk=check.pk)
    return redirect("groups:delimitation_status", digest=check.digest)


@require_GET
def delimitation_status(request: HttpRequest, digest: str) -> HttpResponse:
    from groups.delimitation import office

    office.delimitation_office_require(request.user)  # 403 / 404
    try:
        progress = office.delimitation_progress(actor=request.user, digest=digest)
    except ApplicationError as error:
        raise Http404(error.message) from error
    return render(request, "groups/delimitation_status.html", {"progress": progress})


@require_GET
def delimitation_booths(request: HttpRequest) -> HttpResponse:
    """Booths of retired constituencies waiting in the lead's area, to place one by one."""
    from groups.delimitation import delimitation_constituencies_for_placing, office

    permissions.require_somewhere(request.user, Action.TREE_CHANGE)
    constituencies = list(delimitation_constituencies_for_placing(user=request.user))
    return render(
        request,
        "groups/delimitation_booths.html",
        {
            "waiting": office.delimitation_booths_waiting_with_members(user=request.user),
            "form": BoothPlaceForm(constituencies=constituencies),
        },
    )


@require_POST
def delimitation_booth_place(request: HttpRequest, pk: int) -> HttpResponse:
    from groups.delimitation import delimitation_booth_place as place
    from groups.delimitation import delimitation_constituencies_for_placing

    booth = get_object_or_404(Group, pk=pk, kind=Kind.BOOTH)
    form = BoothPlaceForm(
        request.POST, constituencies=delimitation_constituencies_for_placing(user=request.user)
    )
    if form.is_valid():
        constituency = get_object_or_404(Group, code=form.cleaned_data["constituency"])
        try:
            booth = place(actor=request.user, booth=booth, constituency=constituency)
        except (permissions.Forbidden, permissions.OutsideArea):
            raise  # 403 / 404
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(booth)s is placed in %(group)s as %(code)s.")
                % {"booth": booth.name, "group": constituency.name, "code": booth.code},
            )
    else:
        messages.error(request, _("Choose an assembly constituency to place the booth in."))
    return redirect("groups:delimitation_booths")
