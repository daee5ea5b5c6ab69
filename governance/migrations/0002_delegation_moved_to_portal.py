"""Delegations moved to the core (portal.ApprovalDelegation): they now cover every kind of decision
in the approvals inbox. Rows are copied with their ids (audit events name them), then the
governance table goes."""
from django.core.management.color import no_style
from django.db import migrations


FIELDS = ["id", "delegator_id", "delegate_id", "starts_at", "ends_at", "reason", "created_at", "revoked_at"]


def _copy(apps, schema_editor, source: str, target: str):
    """Copy every delegation row from app ``source`` to app ``target`` (ids kept), then move the
    target's id sequence past them."""
    old, new = apps.get_model(source, "ApprovalDelegation"), apps.get_model(target, "ApprovalDelegation")
    new.objects.bulk_create([new(**{name: getattr(row, name) for name in FIELDS}) for row in old.objects.all()])
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [new]):
            cursor.execute(sql)


def copy_to_portal(apps, schema_editor):
    _copy(apps, schema_editor, "governance", "portal")


def copy_back(apps, schema_editor):
    _copy(apps, schema_editor, "portal", "governance")


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0001_initial"),
        ("portal", "0007_approval_delegation"),
    ]

    operations = [
        migrations.RunPython(copy_to_portal, copy_back),
        migrations.DeleteModel(name="ApprovalDelegation"),
    ]
