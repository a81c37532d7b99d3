"""The content pages: my content, the editor with its per-channel preview, the review queue,
the content page (timeline, state per target, diff), the library, and the scoped media view.

Every content is looked up with `content_get_for_user` (404 outside the user's reach); every
change goes through content.services, whose refusals for want of a role (Forbidden, Refused)
answer 403 with the page that says which role is needed, and whose other refusals are shown
on the form or as a message.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action
from content import channels, selectors, services
from content.forms import (
    SPARE_TARGET_ROWS,
    ContentForm,
    DecisionForm,
    LibraryFilterForm,
    WithdrawForm,
    languages,
    office_choices,
)
from content.media import (
    TYPES,
    MediaInfo,
    StoredMedia,
    channel_fit,
    media_discard,
    media_response,
    media_storage,
    media_store,
)
from content.models import Content, Revision, Variant
from content.services import TargetInput, VariantInput

PER_PAGE = 20
State = Content.State

# Which form field a service's refusal belongs to (by its code); the rest go on top.
ERROR_FIELDS = {
    "send_at_past": "send_at",
    "expires_at_past": "expires_at",
    "expires_before_send": "expires_at",
    "invalid_tag": None,
    "required": "title",
}


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))


def _query_string(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- My content -----------------------------------------------------------------------------


@require_GET
def content_mine(request: HttpRequest) -> HttpResponse:
    """The content the user wrote, by state: drafts and content sent back first."""
    state = request.GET.get("state", "")
    if state not in State.values:
        state = ""
    counts = selectors.content_authored_counts(request.user)
    states = [
        {"value": value, "label": label, "count": counts.get(value, 0)}
        for value, label in State.choices
        if counts.get(value)
    ]
    return render(request, "content/mine.html", {
        "page": _page(request, selectors.content_authored(request.user, state=state)),
        "states": states,
        "state": state,
        "total": sum(counts.values()),
        "waiting": counts.get(State.DRAFT, 0) + counts.get(State.CHANGES_REQUESTED, 0),
        "query_string": _query_string(request),
        "may_draft": permissions.user_may(request.user, Action.CONTENT_DRAFT),
    })  # fmt: skip


# --- The editor -----------------------------------------------------------------------------


def _initial(content: Content) -> tuple[dict, dict, list[tuple[str, str]]]:
    """The editor's initial values, the files by language, and the target rows."""
    revision = content.current_revision
    initial = {
        "title": content.title, "kind": content.kind, "priority": content.priority,
        "campaign_tags": " ".join(content.campaign_tags),
        "hashtags": " ".join(f"#{tag}" for tag in content.hashtags),
        "send_at": content.send_at, "expires_at": content.expires_at,
    }  # fmt: skip
    media: dict[str, Variant] = {}
    rows: list[tuple[str, str]] = []
    if revision is not None:
        for variant in revision.variants.all():
            initial[f"body_{variant.language}"] = variant.body
            initial[f"caption_{variant.language}"] = variant.media_caption
            if variant.is_default:
                initial["default_language"] = variant.language
            if variant.media:
                media[variant.language] = variant
        rows = [
            (target.group.code, target.post)
            for target in revision.targets.select_related("group").order_by("id")
        ]
    return initial, media, rows


def _save(request: HttpRequest, form: ContentForm, content: Content | None) -> Content | None:
    """Store the new files (outside the transaction: they take time), then create or update
    the content through the services; the files go again if that is refused."""
    data = form.cleaned_data
    kind = data["kind"]
    stored: list[StoredMedia] = []
    uploading = ""  # the language whose file is being kept (its field shows a refusal)
    try:
        variants: list[VariantInput] = []
        for code, _name in languages():
            upload = data.get(f"media_{code}")
            existing = form.stored.get(code)
            media: StoredMedia | str | None = None
            media_type, media_size = "", None
            if upload:
                uploading = code
                if kind not in services.MEDIA_KINDS:
                    raise ApplicationError(
                        _("Content of this kind takes no file: choose image, video or document."),
                        code="media_kind",
                    )
                item = media_store(upload, kind=kind)
                uploading = ""
                if item.thumbnail_name:  # a variant keeps no thumbnail (yet): not left behind
                    media_storage().delete(item.thumbnail_name)
                    item = StoredMedia(name=item.name, thumbnail_name="", info=item.info)
                stored.append(item)
                media, media_type, media_size = item, item.info.mime_type, item.info.size
            elif existing is not None and not data.get(f"remove_media_{code}"):
                media = existing.media.name
                media_type, media_size = existing.media_type, existing.media_size
            body = data.get(f"body_{code}") or ""
            caption = data.get(f"caption_{code}") or ""
            if body.strip() or media or caption.strip():
                variants.append(VariantInput(
                    language=code, body=body, media=media, media_caption=caption,
                    media_type=media_type, media_size=media_size,
                    is_default=code == data["default_language"],
                ))  # fmt: skip
        fields = {
            "title": data["title"], "kind": kind, "priority": data["priority"],
            "campaign_tags": data["campaign_tags"], "hashtags": data["hashtags"],
            "send_at": data["send_at"], "expires_at": data["expires_at"],
            "targets": [TargetInput(group=group, post=post) for group, post in data["targets"]],
        }  # fmt: skip
        if content is None:
            return services.content_create(actor=request.user, variants=variants, **fields)
        for name in ("send_at", "expires_at"):
            # A time left as it was is not checked again (a send-at time that has passed
            # since would refuse every other change); the form shows it to the minute.
            if _to_the_minute(fields[name]) == _to_the_minute(getattr(content, name)):
                fields[name] = services.UNSET
        return services.content_update(
            actor=request.user, content=content, variants=variants, **fields
        )
    except ApplicationError as refusal:
        for item in stored:
            media_discard(item)
        field = f"media_{uploading}" if uploading else ERROR_FIELDS.get(refusal.code)
        form.add_error(field if field in form.fields else None, refusal.message)
        return None
    except BaseException:
        for item in stored:
            media_discard(item)
        raise


def _to_the_minute(moment):
    return moment.replace(second=0, microsecond=0) if moment is not None else None


@require_http_methods(["GET", "POST"])
def content_create(request: HttpRequest) -> HttpResponse:
    permissions.require_somewhere(request.user, Action.CONTENT_DRAFT)
    form = ContentForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        content = _save(request, form, None)
        if content is not None:
            messages.success(request, _("Saved as a draft."))
            return redirect("content:edit", pk=content.pk)
    return _editor(request, form, None, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def content_edit(request: HttpRequest, pk: int) -> HttpResponse:
    content = selectors.content_get_for_user(request.user, pk)
    if content.author_id != request.user.pk:
        raise services.Refused(
            _("Only the author of this content can change or submit it."), code="not_author"
        )
    initial, media, rows = _initial(content)
    form = ContentForm(
        request.POST or None, request.FILES or None, user=request.user, initial=initial,
        stored=media,
    )  # fmt: skip
    form.target_rows = rows
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, content)
        if saved is not None:
            if content.state in services.RESUBMIT_ON_EDIT_STATES and saved.state == State.IN_REVIEW:
                messages.success(request, _("Saved: the new revision is back in review."))
            else:
                messages.success(request, _("Saved."))
            return redirect("content:edit", pk=content.pk)
    return _editor(request, form, content, status=400 if form.errors else 200)


def _editor(request: HttpRequest, form: ContentForm, content: Content | None, *, status: int):
    rows = list(form.target_rows) + [("", "")] * SPARE_TARGET_ROWS
    data = form.data if form.is_bound else None
    return render(request, "content/editor.html", {
        "form": form,
        "content": content,
        "target_rows": rows,
        "offices": office_choices(),
        "previews": _previews(data or _initial_data(form)),
        "panels": [
            {**panel, "fit": _fit(panel["stored"]) if panel["stored"] else []}
            for panel in form.language_panels()
        ],
        "actions": _actions(request.user, content) if content is not None else None,
    }, status=status)  # fmt: skip


def _initial_data(form: ContentForm) -> QueryDict:
    data = QueryDict(mutable=True)
    for name in ["hashtags", *(f"body_{code}" for code, _name in languages())]:
        value = form.initial.get(name)
        if value:
            data[name] = value
    return data


# --- The preview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    code: str
    name: str
    text: str
    formatted: str
    sms_text: str
    sms: channels.SmsCount
    characters: int
    over_limit: bool


def _hashtags(raw: str) -> list[str]:
    tags = []
    for word in raw.replace(",", " ").split()[:20]:
        tag = word.removeprefix("#")
        if tag and "#" not in tag and len(tag) <= 50:
            tags.append(tag)
    return tags


def _previews(data) -> list[Preview]:
    """Per language with a text: how it shows on WhatsApp and Telegram, and as an SMS."""
    if data is None:
        return []
    hashtags = _hashtags(str(data.get("hashtags", ""))[:1100])
    previews = []
    for code, name in languages():
        body = str(data.get(f"body_{code}", ""))[: settings.CONTENT_BODY_MAX_CHARS * 2]
        if not body.strip():
            continue
        text = channels.with_hashtags(body.replace("\r\n", "\n"), hashtags)
        sms_text = channels.plain_text(text)
        previews.append(Preview(
            code=code, name=str(name), text=text, formatted=channels.formatted_html(text),
            sms_text=sms_text, sms=channels.sms_segments(sms_text), characters=len(text),
            over_limit=len(text) > settings.CONTENT_BODY_MAX_CHARS,
        ))  # fmt: skip
    return previews


@require_POST
def content_preview(request: HttpRequest) -> HttpResponse:
    """The editor's preview, refreshed by htmx as the author types (no data is read or
    written: the texts are the request's own)."""
    permissions.require_somewhere(request.user, Action.CONTENT_DRAFT)
    return render(request, "content/_preview.html", {"previews": _previews(request.POST)})


def _fit(variant: Variant) -> list:
    media_type = TYPES.get(variant.media_type)
    if media_type is None or variant.media_size is None:
        return []
    info = MediaInfo(kind=media_type.kind, mime_type=variant.media_type, size=variant.media_size)
    return channel_fit(info)


# --- The content page -----------------------------------------------------------------------


@dataclass(frozen=True)
class Actions:
    edit: bool = False
    submit: bool = False
    decide: bool = False
    withdraw: bool = False


def _actions(user, content: Content) -> Actions:
    """What the user may do with the content now (the page shows only those)."""
    is_author = content.author_id == user.pk
    state = content.state
    return Actions(
        edit=is_author and state in services.EDITABLE_STATES | services.RESUBMIT_ON_EDIT_STATES,
        submit=is_author and state in services.SUBMITTABLE_STATES,
        decide=not is_author and selectors.content_may_decide(user, content),
        withdraw=state in services.WITHDRAWABLE_STATES
        and (
            is_author
            or user.is_superuser
            or selectors.content_may_withdraw_as_decider(user, content)
        ),
    )


@require_GET
def content_detail(request: HttpRequest, pk: int) -> HttpResponse:
    content = selectors.content_get_for_user(request.user, pk)
    is_author = content.author_id == request.user.pk
    submitted = content.submitted_revision
    shown = submitted
    if is_author or submitted is None:
        shown = content.current_revision
    targets = []
    if submitted is not None:
        for target in selectors.revision_targets(submitted):
            deciders = []
            if target.approval_id is None and content.state == State.IN_REVIEW:
                deciders = list(selectors.target_deciders(target, author=content.author)[:10])
            targets.append({"target": target, "deciders": deciders})
    variants = list(shown.variants.all()) if shown is not None else []
    actions = _actions(request.user, content)
    return render(request, "content/detail.html", {
        "content": content,
        "shown": shown,
        "submitted": submitted,
        "variants": [{"variant": v, "fit": _fit(v)} for v in variants],
        "previews": _previews({f"body_{v.language}": v.body for v in variants}
                              | {"hashtags": " ".join(content.hashtags)}),
        "targets": targets,
        "timeline": selectors.content_timeline(content),
        # The author's working draft against the last submission; else the submitted
        # revision against the one before it.
        "diff": _diff_lines(selectors.revision_diff(shown)) if shown is not None else [],
        "actions": actions,
        "decision_form": DecisionForm(initial={"revision": content.submitted_revision_id}),
        "withdraw_form": WithdrawForm(),
        "unsubmitted_changes": is_author and submitted is not None
        and content.current_revision_id != submitted.pk,
    })  # fmt: skip


def _diff_lines(diff: list[str]) -> list[tuple[str, str]]:
    """Each line of a unified diff with its kind, for the page to colour (escaped there)."""
    lines = []
    for line in diff:
        if line.startswith(("+++", "---", "@@")):
            lines.append(("head", line))
        elif line.startswith("+"):
            lines.append(("added", line))
        elif line.startswith("-"):
            lines.append(("removed", line))
        else:
            lines.append(("same", line))
    return lines


@require_POST
def content_submit(request: HttpRequest, pk: int) -> HttpResponse:
    content = selectors.content_get_for_user(request.user, pk)
    try:
        content = services.content_submit(actor=request.user, content=content)
    except (permissions.Forbidden, services.Refused):
        raise
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
    else:
        if content.state == State.IN_REVIEW:
            messages.success(request, _("Submitted for review."))
        else:
            messages.success(request, _("Submitted and approved by the trust of a lead."))
    return redirect("content:detail", pk=pk)


@require_POST
def content_decide(request: HttpRequest, pk: int) -> HttpResponse:
    content = selectors.content_get_for_user(request.user, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a decision."))
        return redirect("content:detail", pk=pk)
    revision = Revision.objects.filter(content=content, pk=form.cleaned_data["revision"]).first()
    if revision is None:
        raise Http404("No such revision.")
    try:
        services.content_decide(
            actor=request.user, content=content, decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"], revision=revision,
        )  # fmt: skip
    except (permissions.Forbidden, services.Refused):
        raise
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
        return redirect("content:detail", pk=pk)
    messages.success(request, _("Your decision is recorded."))
    return redirect("content:review")


@require_POST
def content_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    content = selectors.content_get_for_user(request.user, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the content is withdrawn."))
        return redirect("content:detail", pk=pk)
    try:
        services.content_withdraw(
            actor=request.user, content=content, reason=form.cleaned_data["reason"]
        )
    except (permissions.Forbidden, services.Refused):
        raise
    except ApplicationError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Withdrawn."))
    return redirect("content:detail", pk=pk)


# --- The review queue and the library ------------------------------------------------------


@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    permissions.require_somewhere(request.user, Action.CONTENT_DECIDE)
    queue = selectors.content_review_queue(request.user).annotate(
        target_count=Count("submitted_revision__targets"),
        waiting_count=Count(
            "submitted_revision__targets",
            filter=Q(submitted_revision__targets__approval__isnull=True),
        ),
    )
    page = _page(request, queue)
    return render(request, "content/review.html", {
        "page": page, "count": page.paginator.count,
    })  # fmt: skip


@require_GET
def library(request: HttpRequest) -> HttpResponse:
    form = LibraryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    results = selectors.content_library_search(
        request.user, query=filters.get("q", ""), kind=filters.get("kind", ""),
        language=filters.get("language", ""), tag=filters.get("tag", ""),
    )  # fmt: skip
    if form.is_bound and not form.is_valid():
        results = results.none()
    page = _page(request, results)
    return render(request, "content/library.html", {
        "form": form, "page": page, "count": page.paginator.count,
        "query_string": _query_string(request),
    })  # fmt: skip


# --- Media ----------------------------------------------------------------------------------


@require_GET
def content_media(request: HttpRequest, pk: int) -> HttpResponse:
    """A variant's file, for those who may see its content (never MEDIA_ROOT directly): a
    revision not yet submitted only for its author."""
    variant = Variant.objects.select_related("revision").filter(pk=pk).first()
    if variant is None or not variant.media:
        raise Http404("No such file.")
    content = selectors.content_get_for_user(request.user, variant.revision.content_id)
    if (
        variant.revision.submitted_at is None
        and content.author_id != request.user.pk
        and not request.user.is_superuser
    ):
        raise Http404("No such file.")
    media_type = TYPES.get(variant.media_type)
    extension = media_type.extension if media_type else "bin"
    return media_response(
        variant.media.name, download_name=f"{content.title[:60]}-{variant.language}.{extension}"
    )
