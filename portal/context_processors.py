"""Template context: the portal's name and the navigation the signed-in user may see."""
from django.conf import settings

from portal.navigation import navigation_for
from portal.selectors import unread_notification_count


def portal(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "portal_name": settings.PORTAL_NAME,
        "portal_environment": settings.PORTAL_ENVIRONMENT,
        "nav_items": navigation_for(request),
        "unread_notifications": unread_notification_count(user) if signed_in else 0,
    }
