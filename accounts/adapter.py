from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest

from accounts import services


class StaffAccountAdapter(DefaultAccountAdapter):
    """Portal accounts are created by administrators; nobody signs themselves up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render the mail here (it needs the request for its links), send it from a task.

        The page then answers the same whether or not the mail server (or the broker) is up (a
        reset for an unknown address and one whose mail fails look alike), and no web worker
        waits on it. The mail, reset link included, is kept in the database until it is sent
        (accounts.OutgoingMail), which also keeps a second delivery of its task from sending it
        twice; the task retries while the mail server is down, and beat's round sends what a
        lost message left.
        """
        request = allauth_context.request
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": get_current_site(request),
             **context},
        )  # fmt: skip
        services.outgoing_mail_queue(message=message)
