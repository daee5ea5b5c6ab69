"""django-allauth adapters: no self sign-up. An SSO sign-in signs in the portal user with the
same verified e-mail (SOCIALACCOUNT_EMAIL_AUTHENTICATION), or creates one without roles."""
from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return False   # platform admins create users; SSO users are provisioned by their IdP


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        # An SSO sign-in creates the portal user (with no roles until an admin grants some).
        return bool(settings.SOCIALACCOUNT_PROVIDERS)


def attempted_username(request, credentials) -> str:
    """The name a sign-in attempt was made for (allauth posts it as 'login'), for django-axes,
    lower-cased so 'Lead' and 'lead' share one failure count."""
    credentials = credentials or {}
    name = credentials.get("username") or credentials.get("email") or request.POST.get("login", "")
    return name.strip().lower()
