from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest

from accounts import tasks


class StaffAccountAdapter(DefaultAccountAdapter):
    """Portal accounts are created by administrators; nobody signs themselves up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render the mail here (it needs the request for its links), send it from a task.

        The page then answers the same whether or not the mail server is up (a reset for an
        unknown address and one whose mail fails look alike), and no web worker waits on it.
        The task retries while the server is down. The message, reset link included, waits in
        the broker until then: the broker is as private as the database.
        """
        request = allauth_context.request
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": get_current_site(request),
             **context},
        )  # fmt: skip
        tasks.mail_send.delay_on_commit(
            subject=message.subject,
            body=message.body,
            content_subtype=message.content_subtype,
            from_email=message.from_email,
            to=list(message.to),
            alternatives=[list(part) for part in getattr(message, "alternatives", [])],
            headers=dict(message.extra_headers),
        )
