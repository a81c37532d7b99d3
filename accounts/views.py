"""The language switch, which also keeps a signed-in user's choice for their mails."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import check_for_language
from django.views.i18n import set_language

from accounts.services import language_remember


@login_not_required  # the switch is on the sign-in page too
def language_set(request: HttpRequest) -> HttpResponse:
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and check_for_language(language):
        language_remember(user=request.user, language=language)
    return response
