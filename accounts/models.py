from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if extra_fields.get("is_staff") is not True or extra_fields.get("is_superuser") is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in to the portal (party office staff, leads, content teams).

    Signs in by e-mail; there is no separate user name. Party workers themselves are
    `members.Member` records and need no portal account.
    """

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    # The language the portal speaks to them in when they are not on a page: their mails
    # (content awaiting them, decisions). Recorded at sign-in and when they switch language;
    # empty: the portal's default (LANGUAGE_CODE).
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class OutgoingMail(models.Model):
    """A rendered e-mail to send (a password reset), kept until it is sent and a while after.

    Written in the transaction that asks for it and sent by the task `accounts.tasks.mail_send`
    after the commit. The row is the task's claim and its sent mark: a second delivery of the
    task finds the mail sent, or being sent (`claimed_until`), and sends nothing; a mail whose
    message never reached a worker (the broker was down) is sent again by beat's round
    (accounts.services.outgoing_mails_resend). Once sent, its body (the reset link) is emptied.
    """

    subject = models.TextField()
    body = models.TextField()
    content_subtype = models.CharField(max_length=20, default="plain")
    from_email = models.TextField()
    to = models.JSONField()
    alternatives = models.JSONField(default=list)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its message was last sent to the workers.
    queued_at = models.DateTimeField()
    # A task is sending it until then (longer than the task may run).
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["queued_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outgoing_mail_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"Mail {self.pk} ({'sent' if self.sent_at else 'unsent'})"
