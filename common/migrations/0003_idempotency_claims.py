"""Idempotency keys are claimed before the handler runs (in_progress, with a lease), then completed."""

import django.core.serializers.json
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0002_audit_chain"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="idempotencyrecord",
            name="owner",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name="idempotencyrecord",
            name="state",
            field=models.CharField(
                choices=[("in_progress", "in progress"), ("completed", "completed")],
                default="completed",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response_body",
            field=models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True),
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response_status",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
    ]
