"""The step log inherits portal.models.StepLog (``at`` becomes ``finished_at``, ``started_at``
copied from it: no row is lost), and the AWS steps' claim (they no longer hold the row lock)."""
import django.utils.timezone
from django.db import migrations, models


def started_is_finished(apps, schema_editor):
    step = apps.get_model("account_vending", "AccountRequestStep")
    step.objects.update(started_at=models.F("finished_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("account_vending", "0003_step_retries"),
    ]

    operations = [
        migrations.RenameField(model_name="accountrequeststep", old_name="at", new_name="finished_at"),
        migrations.AddField(
            model_name="accountrequeststep",
            name="started_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(started_is_finished, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="accountrequeststep",
            name="action",
            field=models.CharField(help_text="e.g. ProvisionProduct, DescribeRecord, approve", max_length=80),
        ),
        migrations.AddField(
            model_name="accountrequest",
            name="step_claim",
            field=models.CharField(blank=True, help_text="The worker running the AWS steps now", max_length=36),
        ),
        migrations.AddField(
            model_name="accountrequest",
            name="step_claim_until",
            field=models.DateTimeField(blank=True, help_text="When an abandoned claim lapses", null=True),
        ),
    ]
