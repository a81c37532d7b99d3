"""Strings of django-allauth's pages that allauth ships no Hindi for.

Listed here so that `makemessages` puts them in our catalogue; Django then finds their Hindi
there when allauth's forms and templates ask for them (same message id, same domain).
"""

from django.utils.translation import gettext_noop

ALLAUTH_STRINGS = [
    gettext_noop("Sign In"),
    gettext_noop("Sign Out"),
    gettext_noop("Email"),
    gettext_noop("Email address"),
    gettext_noop("Password"),
    gettext_noop("Remember Me"),
    gettext_noop("Forgot your password?"),
    gettext_noop("The email address and/or password you specified are not correct."),
    gettext_noop("Password Reset"),
    gettext_noop("Reset My Password"),
    gettext_noop("Change Password"),
    gettext_noop("Are you sure you want to sign out?"),
]
