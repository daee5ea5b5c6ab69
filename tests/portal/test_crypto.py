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


@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_stored_values_both_ways(world):
    """provisioning 0003 run for real: plain JSON of any shape stored before it (an object, null, a
    string, a list) is encrypted in place and read back by the model; reversing restores the JSON."""
    import importlib

    from django.apps import apps
    from django.db.migrations.executor import MigrationExecutor

    from provisioning.models import ProvisioningRequest

    values = ['{"DbPassword": "old-plain"}', "null", '"old-string"', "[]"]
    items = [factories.request(world) for _value in values]
    before, after = [("provisioning", "0002_request_approval_reason")], [("provisioning", "0003_encrypt_secret_parameters")]
    table = "provisioning_provisioningrequest"

    def migrate(target):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(target)

    def stored():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, secret_parameters::text FROM {table}" if connection.vendor == "postgresql"
                           else f"SELECT id, secret_parameters FROM {table}")
            return dict(cursor.fetchall())

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()     # every app, as the suite expects
    try:
        migrate(before)
        with connection.cursor() as cursor:
            for item, value in zip(items, values):
                cursor.execute(f"UPDATE {table} SET secret_parameters = %s WHERE id = %s", [value, item.pk])
        migrate(after)
        encrypted = stored()
        assert not any("old-" in text or text in ("null", "[]") for text in encrypted.values())
        migration = importlib.import_module("provisioning.migrations.0003_encrypt_secret_parameters")
        with connection.schema_editor() as editor:
            migration.encrypt_existing(apps, editor)          # a repeat leaves encrypted values alone
        assert stored() == encrypted
        read = dict(ProvisioningRequest.objects.filter(pk__in=[i.pk for i in items]).values_list("pk", "secret_parameters"))
        assert [read[item.pk] for item in items] == [{"DbPassword": "old-plain"}, None, "old-string", []]
        migrate(before)
        restored = {pk: text.replace(" ", "") for pk, text in stored().items()}
        assert [restored[item.pk] for item in items] == [value.replace(" ", "") for value in values]
    finally:
        migrate(latest)
