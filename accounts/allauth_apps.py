from allauth.account.apps import AccountConfig
from django.utils.translation import gettext_lazy as _


class SignInAddressesConfig(AccountConfig):
    """allauth's account app (its e-mail address rows) under a name of its own in the admin.

    allauth calls it "Accounts", the name of our own app of staff users beside it.
    """

    verbose_name = _("Sign-in addresses")
