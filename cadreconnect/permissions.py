"""Who may do what, and where: the one permission table.

Every write asks two questions, always here, from views, the API, the admin, forms, imports
and tasks alike:

1. Is the target inside the user's area (the subtrees under their assignments)? If not, it
   does not exist for them: `OutsideArea`, a 404, never a 403 that would confirm it exists.
2. Does a role the user holds at the target's node or above it allow the action? If not:
   `Forbidden`, a 403 whose message names the roles that would allow it.

Roles at a node apply to its whole subtree. Superusers may do everything everywhere;
anonymous or deactivated users nothing. The content rights (drafting, deciding, trusting an
author) are here too; the approval rule's level (a district or above) is content.services'.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cadreconnect.exceptions import ApplicationError
from groups.models import Group, Kind, Role
from groups.selectors import Scope, scope_of, user_assignment_nodes, user_scope


class Action(models.TextChoices):
    VIEW = "view", _("see groups, members and figures")
    CONTACT_SEE = "contact_see", _("see full phone numbers and voter ids")
    MEMBER_WRITE = "member_write", _("register and edit members and record consent")
    MEMBER_IMPORT = "member_import", _("import members")
    MEMBER_EXPORT = "member_export", _("export members")
    MEMBER_MERGE = "member_merge", _("merge members")
    TREE_CHANGE = "tree_change", _("change the tree")
    ROLE_MANAGE = "role_manage", _("give and remove roles")
    IMPORT_OVERSEE = "import_oversee", _("see and cancel everyone's imports")
    CONTENT_DRAFT = "content_draft", _("draft and submit content")
    CONTENT_DECIDE = "content_decide", _("approve content, send it back or reject it")
    CONTENT_TRUST = "content_trust", _("trust an author's content to be approved on submission")


EVERY_ROLE = frozenset(Role)

# The table itself (issue 9). Read it as: the action is allowed to these roles, at the
# role's node and everywhere below it.
TABLE: dict[Action, frozenset[Role]] = {
    Action.VIEW: EVERY_ROLE,
    Action.CONTACT_SEE: frozenset({Role.LEAD, Role.ORGANISER}),
    Action.MEMBER_WRITE: frozenset({Role.LEAD, Role.ORGANISER}),
    Action.MEMBER_IMPORT: frozenset({Role.LEAD, Role.ORGANISER}),
    Action.MEMBER_EXPORT: frozenset({Role.LEAD}),
    Action.MEMBER_MERGE: frozenset({Role.LEAD}),
    Action.TREE_CHANGE: frozenset({Role.LEAD}),
    # Leads give any role below their node, and any but lead at it (role_grant_allowed).
    Action.ROLE_MANAGE: frozenset({Role.LEAD}),
    # At the national node: the office's leads watch every import in progress and stop one
    # (an importer sees and cancels their own through MEMBER_IMPORT).
    Action.IMPORT_OVERSEE: frozenset({Role.LEAD}),
    # Content (issue 12): editors draft, approvers decide, leads do both and may trust an
    # author for their subtree; every role reads the approved library (VIEW). A decision also
    # needs the role at a node of CONTENT_APPROVAL_MIN_KIND or above (content.services).
    Action.CONTENT_DRAFT: frozenset({Role.LEAD, Role.EDITOR}),
    Action.CONTENT_DECIDE: frozenset({Role.LEAD, Role.APPROVER}),
    Action.CONTENT_TRUST: frozenset({Role.LEAD}),
}


def roles_for(action: Action | str) -> list[Role]:
    """The roles that allow an action, in the order of `Role` (lead first)."""
    allowed = TABLE[Action(action)]
    return [role for role in Role if role in allowed]


def role_allows(role: Role | str, action: Action | str) -> bool:
    return Role(role) in TABLE[Action(action)]


class OutsideArea(Http404):
    """The target is outside the user's area: to them it does not exist."""


class Forbidden(ApplicationError, PermissionDenied):
    """Inside the user's area, but no role of theirs allows the action (403)."""

    def __init__(self, action: Action | str, *, group: Group | None = None) -> None:
        action = Action(action)
        needed = ", ".join(str(role.label).lower() for role in roles_for(action))
        if group is not None:
            message = gettext(
                "To %(action)s in %(group)s you need one of these roles there or above: %(roles)s."
            ) % {"action": action.label, "group": group.name, "roles": needed}
        else:
            message = gettext("To %(action)s you need one of these roles: %(roles)s.") % {
                "action": action.label,
                "roles": needed,
            }
        super().__init__(message, code="forbidden", extra={"action": action.value})
        self.action = action
        self.needed = roles_for(action)


def _assignment_nodes(user) -> list[tuple[str, int, int, int, int]]:
    """The assignments that allow writes: those at active nodes (a retired node's role keeps
    read access only, through the user's scope)."""
    return user_assignment_nodes(user, active_only=True) if _active(user) else []


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def action_scope(user, action: Action | str) -> Scope:
    """The subtrees where the user may take the action (cached on the user per request)."""
    action = Action(action)
    if action == Action.VIEW:
        return user_scope(user)
    cache: dict[Action, Scope] = getattr(user, "_action_scopes", None) or {}
    if action in cache:
        return cache[action]
    if not _active(user):
        scope = Scope(everything=False)
    elif user.is_superuser:
        scope = Scope(everything=True)
    else:
        allowed = TABLE[action]
        every = _assignment_nodes(user)
        nodes = [node for role, *node in every if role in allowed]
        if len(nodes) == len(user_assignment_nodes(user)):
            scope = user_scope(user)  # every role of theirs allows it: their whole area
        else:
            scope = scope_of(nodes) if nodes else Scope(everything=False)
    cache[action] = scope
    user._action_scopes = cache
    return scope


def user_may(user, action: Action | str, group: Group | None = None) -> bool:
    """May the user take the action at `group` (or, without a group, anywhere at all)?"""
    if group is None:
        if not _active(user):
            return False
        allowed = TABLE[Action(action)]
        return user.is_superuser or any(role in allowed for role, *_ in _assignment_nodes(user))
    return action_scope(user, action).contains(group)


def require(user, action: Action | str, group: Group) -> None:
    """OutsideArea (404) when the group is outside the user's area, Forbidden (403) when no
    role of theirs allows the action there; nothing when it is allowed."""
    if not user_scope(user).contains(group) or (
        group.kind == Kind.NATIONAL and not user_scope(user).everything
    ):
        raise OutsideArea("No such group.")
    if not action_scope(user, action).contains(group):
        raise Forbidden(action, group=group)


def require_somewhere(user, action: Action | str) -> None:
    """Forbidden unless the user may take the action somewhere (pages that start a write, such
    as the import wizard, before the target is known)."""
    if not user_may(user, action):
        raise Forbidden(action)


def role_grant_allowed(user, *, group: Group, role: Role | str) -> bool:
    """Leads give and remove any role below their node, and any role but lead at it;
    superusers any role anywhere."""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    role = Role(role)
    for held, kind, tree_id, lft, rght in _assignment_nodes(user):
        if held != Role.LEAD or not scope_of([(kind, tree_id, lft, rght)]).contains(group):
            continue
        at_the_node = group.tree_id == tree_id and group.lft == lft
        if not at_the_node or role != Role.LEAD:
            return True
    return False


def require_role_grant(user, *, group: Group, role: Role | str) -> None:
    require(user, Action.ROLE_MANAGE, group)
    if not role_grant_allowed(user, group=group, role=role):
        raise ApplicationError(
            gettext(
                "You cannot give or remove the role of %(role)s at %(group)s: a lead gives any "
                "role below their own node, and any role but lead at it."
            )
            % {"role": str(Role(role).label).lower(), "group": group.name},
            code="role_above_own",
        )


class Permissions:
    """What the signed-in user may do somewhere in their area, for templates: `may.member_import`.
    (Views pass what the user may do at a particular group themselves.)"""

    def __init__(self, user) -> None:
        self.user = user

    def __getattr__(self, name: str) -> bool:
        try:
            action = Action(name)
        except ValueError as unknown:
            raise AttributeError(name) from unknown
        return user_may(self.user, action)


def permissions_context(request) -> dict:
    """Template context processor: `may.<action>`."""
    return {"may": Permissions(getattr(request, "user", None))}
