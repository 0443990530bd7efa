"""Valuation.firm: the asset's firm copied onto the valuation, with a (firm, id) index, so a firm's newest
valuations are one index range (page 1 of the firm's list no longer walks the primary key past other firms'
newer valuations). Added nullable and filled from the asset in one UPDATE here; 0006 makes it NOT NULL and adds
the index (a separate migration, so a separate transaction on PostgreSQL: ALTER TABLE refuses to run while the
UPDATE's deferred foreign-key checks are pending)."""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
    UPDATE valuation_valuation
       SET firm_id = (SELECT a.firm_id FROM registry_asset a WHERE a.id = valuation_valuation.asset_id)
     WHERE firm_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_asset_firm_index_composite_only"),
        ("valuation", "0004_list_keyset_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="valuation",
            name="firm",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.firm",
                verbose_name="firm",
            ),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
