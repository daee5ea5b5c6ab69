"""Create the audit chain head and, on PostgreSQL, make audit rows append-only.

The trigger refuses UPDATE and DELETE of audit events for every database user, so not even the
application can rewrite history (TRUNCATE, used only by test-database teardown, is a table-level
operation outside this guard).
"""
from django.db import migrations

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION portal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (%% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditevent_append_only BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_audit_append_only();
"""


def create_chain_head(apps, schema_editor):
    apps.get_model("portal", "AuditChainHead").objects.get_or_create(id=1)


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [
        migrations.RunPython(create_chain_head, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
