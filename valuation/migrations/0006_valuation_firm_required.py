"""Valuation.firm becomes NOT NULL (0005 filled it) and gets its (firm, id) index."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("valuation", "0005_valuation_firm"),
    ]

    operations = [
        migrations.AlterField(
            model_name="valuation",
            name="firm",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.firm",
                verbose_name="firm",
            ),
        ),
        migrations.AddIndex(
            model_name="valuation",
            index=models.Index(fields=["firm", "id"], name="valuation_firm_id_idx"),
        ),
    ]
