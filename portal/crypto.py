"""Encryption at rest for values the portal must read back: webhook signing secrets and URLs, NoEcho
provisioning parameters (password hashes are no use for either).

Fernet (AES-128-CBC + HMAC-SHA256) keyed from ``PORTAL_ENCRYPTION_KEY`` when set, else from
``DJANGO_SECRET_KEY``. Decryption also tries ``DJANGO_SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``, so
setting ``PORTAL_ENCRYPTION_KEY`` later, or rotating the secret key with the old one kept as a
fallback, leaves existing values readable (new writes use the first key).
"""
import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


def _key_materials() -> tuple[str, ...]:
    materials = [settings.PORTAL_ENCRYPTION_KEY] if settings.PORTAL_ENCRYPTION_KEY else []
    materials += [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return tuple(dict.fromkeys(materials))


@lru_cache(maxsize=4)
def _fernet(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"portal-encryption:{m}".encode()).digest()))
        for m in materials])


def encrypt(text: str) -> str:
    """Ciphertext (URL-safe text) of ``text`` under the current key; different on every call."""
    return _fernet(_key_materials()).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The text ``encrypt`` was given. Raises ImproperlyConfigured when no configured key fits."""
    try:
        return _fernet(_key_materials()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: PORTAL_ENCRYPTION_KEY or DJANGO_SECRET_KEY changed "
            "without keeping the old key (add it to SECRET_KEY_FALLBACKS).") from None


class EncryptedTextField(models.TextField):
    """A str in Python, Fernet ciphertext in the database. Cannot be filtered on."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)


class EncryptedJSONField(EncryptedTextField):
    """Like JSONField (a dict or list in Python), stored as Fernet ciphertext of its JSON."""

    def from_db_value(self, value, expression, connection):
        text = super().from_db_value(value, expression, connection)
        return None if text is None else json.loads(text)

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        return None if value is None else encrypt(json.dumps(value, cls=DjangoJSONEncoder))
