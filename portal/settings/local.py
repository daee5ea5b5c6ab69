"""Settings for `make run` on one machine: embedded defaults, the sandbox as AWS, e-mail to files."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me-0123456789abcdef")

from portal.settings.base import *  # noqa: E402,F401,F403
from portal.settings.env import env, env_int  # noqa: E402

DEBUG = True
PORTAL_ENVIRONMENT = "local"
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{env_int('SANDBOX_PORT', 4566)}"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
SHOW_DEMO_PASSWORDS = True
# The portal's 404 page rather than Django's technical one (which lists every URL); see the middleware.
MIDDLEWARE = [*MIDDLEWARE, "portal.middleware.DebugErrorPagesMiddleware"]  # noqa: F405
if not env("EMAIL_HOST"):   # e-mails (password resets, approvals) as files, not dumped into the console
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"  # noqa: F405
