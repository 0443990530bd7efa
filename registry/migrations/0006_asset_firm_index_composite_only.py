# The (firm, id) index of 0005 serves every lookup by firm; the single-column one made the planner read all of a
# firm's assets and sort them for page 1 of its list instead of reading the page in id order (issue 8).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_list_keyset_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="asset",
            name="firm",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assets",
                to="registry.firm",
                verbose_name="firm",
            ),
        ),
    ]
