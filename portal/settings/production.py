"""Production settings: HTTPS only, secure cookies, HSTS; every required variable must be set."""
from portal.settings.base import *  # noqa: F401,F403
from portal.settings.env import env, env_bool, env_int, env_list

PORTAL_ENVIRONMENT = "production"
DEBUG = False
env("DJANGO_ALLOWED_HOSTS", required=True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SHOW_DEMO_PASSWORDS = False

# Production never falls back to the embedded defaults.
DATABASE_URL = env("DATABASE_URL", required=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", required=True)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
