"""Encryption at rest (portal/crypto.py): NoEcho provisioning parameters never sit in the database in plain text."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from portal import crypto
from tests.provisioning import factories


def test_encrypt_round_trips_and_old_keys_still_decrypt(settings):
    token = crypto.encrypt("s3cret")
    assert token != crypto.encrypt("s3cret") and crypto.decrypt(token) == "s3cret"
    settings.PORTAL_ENCRYPTION_KEY = "a-dedicated-encryption-key"     # set later: old values stay readable
    assert crypto.decrypt(token) == "s3cret"
    newer = crypto.encrypt("again")
    settings.PORTAL_ENCRYPTION_KEY, settings.SECRET_KEY = "", "another-secret-key-0123456789abcdef0123456789"
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(newer)


def test_noecho_values_are_encrypted_at_rest_and_reach_provision_product_in_plain(world, monkeypatch):
    from provisioning import services
    from provisioning.models import ProvisioningRequest

    item = factories.request(world, state="provisioning")
    item.secret_parameters = {"DbPassword": "pl4in-v4lue"}
    item.operation_token = "tok-1"
    item.save(update_fields=["secret_parameters", "operation_token"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_parameters FROM provisioning_provisioningrequest WHERE id = %s", [item.pk])
        stored = cursor.fetchone()[0]
    assert "pl4in-v4lue" not in stored and "DbPassword" not in stored
    sent = {}
    monkeypatch.setattr(services.aws, "provision_product", lambda **kwargs: sent.update(kwargs) or {})
    services._start_operation(ProvisioningRequest.objects.select_related("product", "version", "account", "team")
                              .get(pk=item.pk))
    assert sent["parameters"]["DbPassword"] == "pl4in-v4lue" and sent["parameters"]["Label"] == "abc"
    ProvisioningRequest.objects.filter(pk=item.pk).update(secret_parameters={})
    assert ProvisioningRequest.objects.get(pk=item.pk).secret_parameters == {}


def test_the_migration_encrypts_values_stored_before_it(world):
    import importlib

    from django.apps import apps

    from provisioning.models import ProvisioningRequest

    migration = importlib.import_module("provisioning.migrations.0003_encrypt_secret_parameters")
    item = factories.request(world)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE provisioning_provisioningrequest SET secret_parameters = %s WHERE id = %s",
                       ['{"DbPassword": "old-plain"}', item.pk])
    with connection.schema_editor() as editor:
        migration.encrypt_existing(apps, editor)
        migration.encrypt_existing(apps, editor)          # a repeat leaves encrypted values alone
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_parameters FROM provisioning_provisioningrequest WHERE id = %s", [item.pk])
        assert "old-plain" not in cursor.fetchone()[0]
    assert ProvisioningRequest.objects.get(pk=item.pk).secret_parameters == {"DbPassword": "old-plain"}
