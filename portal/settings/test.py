"""Settings for the test suite: DATABASE_URL / CELERY_BROKER_URL when given, else embedded defaults."""
import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdef0123456789abcdef")
os.environ.setdefault("PORTAL_VAR_DIR", os.path.join(tempfile.gettempdir(), f"portal-test-{os.getpid()}"))

from portal.settings.base import *  # noqa: E402,F401,F403

DEBUG = False
PORTAL_ENVIRONMENT = "test"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]   # speed only; never in production
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AWS_CLIENT_INSTRUMENT = "tests.support.aws.instrument_client"
AWS_MAX_ATTEMPTS = 3
AWS_ENDPOINT_URL = "http://127.0.0.1:9"   # nothing listens: tests that need AWS use the aws_endpoint fixture
SHOW_DEMO_PASSWORDS = False
WHITENOISE_AUTOREFRESH = True
