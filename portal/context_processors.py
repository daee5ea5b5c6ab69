"""Template context: the portal's name and the navigation the signed-in user may see."""
from django.conf import settings

from portal.navigation import navigation_for


def portal(request):
    return {
        "portal_name": settings.PORTAL_NAME,
        "portal_environment": settings.PORTAL_ENVIRONMENT,
        "nav_items": navigation_for(request),
    }
