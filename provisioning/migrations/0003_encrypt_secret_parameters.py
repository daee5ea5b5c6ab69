"""NoEcho parameter values are stored encrypted (portal.crypto): the column becomes text holding
Fernet ciphertext, and values already stored are encrypted in place."""
from django.core.exceptions import ImproperlyConfigured
from django.db import migrations

import portal.crypto

HELP = "NoEcho values, encrypted, kept only until AWS accepted the call"


def _rewrite(apps, schema_editor, convert, needs):
    table = apps.get_model("provisioning", "ProvisioningRequest")._meta.db_table
    quoted = schema_editor.quote_name(table)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, secret_parameters FROM {quoted}")
        rows = [(pk, value) for pk, value in cursor.fetchall() if value is not None and needs(value)]
        for pk, value in rows:
            cursor.execute(f"UPDATE {quoted} SET secret_parameters = %s WHERE id = %s", [convert(value), pk])


def _is_ciphertext(value: str) -> bool:
    """Whether the current keys decrypt ``value`` (any JSON text, '{}', 'null', '"x"', is not)."""
    try:
        portal.crypto.decrypt(value)
    except ImproperlyConfigured:
        return False
    return True


def encrypt_existing(apps, schema_editor):
    _rewrite(apps, schema_editor, portal.crypto.encrypt, lambda value: not _is_ciphertext(value))


def decrypt_existing(apps, schema_editor):
    _rewrite(apps, schema_editor, portal.crypto.decrypt, _is_ciphertext)


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0002_request_approval_reason'),
    ]

    operations = [
        migrations.AlterField(
            model_name='provisioningrequest',
            name='secret_parameters',
            field=portal.crypto.EncryptedJSONField(blank=True, default=dict, help_text=HELP),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
