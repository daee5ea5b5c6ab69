"""Audit checkpoints (claims of signed checkpoints anchored outside the database) and, on
PostgreSQL, guards the row trigger of 0002 did not give:

- TRUNCATE of audit events or of the chain head is refused (a statement trigger: TRUNCATE
  fires no row trigger);
- the chain head can only move forward one event at a time, to an event that exists with that
  hash, and cannot be deleted, so it cannot be rewound to hide removed events.

Only a table owner (or superuser) can disable these triggers; the signed checkpoints
(portal/audit_anchor.py) detect what such a role does. SQLite has no TRUNCATE and no such guard.
"""
from django.db import migrations, models

GUARD_SQL = """
CREATE OR REPLACE FUNCTION portal_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log cannot be truncated (%% refused on %%)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditevent_no_truncate BEFORE TRUNCATE ON portal_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_no_truncate();
CREATE TRIGGER portal_auditchainhead_no_truncate BEFORE TRUNCATE ON portal_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_no_truncate();

CREATE OR REPLACE FUNCTION portal_audit_head_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id <> OLD.id OR NEW.last_seq <> OLD.last_seq + 1 OR NOT EXISTS (
            SELECT 1 FROM portal_auditevent WHERE seq = NEW.last_seq AND hash = NEW.last_hash) THEN
        RAISE EXCEPTION 'the audit chain head only moves forward to the event just appended (%% -> %%)',
            OLD.last_seq, NEW.last_seq USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditchainhead_forward_only BEFORE UPDATE OR DELETE ON portal_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION portal_audit_head_forward_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS portal_auditchainhead_forward_only ON portal_auditchainhead;
DROP FUNCTION IF EXISTS portal_audit_head_forward_only();
DROP TRIGGER IF EXISTS portal_auditchainhead_no_truncate ON portal_auditchainhead;
DROP TRIGGER IF EXISTS portal_auditevent_no_truncate ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_audit_no_truncate();
"""


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD_SQL)


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("portal", "0005_webhooks")]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_seq", models.PositiveBigIntegerField(unique=True)),
                ("seq", models.PositiveBigIntegerField(unique=True)),
                ("document", models.TextField(help_text="The signed JSON document, exactly as written to the store.")),
                ("created_at", models.DateTimeField()),
                ("anchored_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={"ordering": ["-seq"]},
        ),
        migrations.RunPython(guard, drop_guard),
    ]
