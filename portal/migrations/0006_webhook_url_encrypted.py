"""Store TeamWebhook.url encrypted: existing plaintext URLs are converted in place, both ways."""
import django.core.validators
from django.db import migrations

import portal.crypto


def _convert(convert):
    def run(apps, schema_editor):
        # Raw SQL: the model field would try to decrypt the plaintext (or return the plaintext) on read.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT id, url FROM portal_teamwebhook")
            for pk, url in cursor.fetchall():
                cursor.execute("UPDATE portal_teamwebhook SET url = %s WHERE id = %s", [convert(url), pk])
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0005_webhooks'),
    ]

    operations = [
        migrations.AlterField(
            model_name='teamwebhook',
            name='url',
            field=portal.crypto.EncryptedTextField(help_text='HTTPS endpoint that receives a signed POST per event.', validators=[django.core.validators.URLValidator(schemes=['http', 'https'])]),
        ),
        migrations.RunPython(_convert(portal.crypto.encrypt), _convert(portal.crypto.decrypt)),
    ]
