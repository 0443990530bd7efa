"""Seed the Hubei priority-industry taxonomy (domain.md section 5); editable in the admin afterwards."""

from django.db import migrations

INDUSTRIES = [
    ("OPTO_ELEC", "光电子信息", "Optoelectronic information", ["C39", "I65"]),
    ("NEV_ICV", "新能源与智能网联汽车", "New-energy and intelligent connected vehicles", ["C36", "C38"]),
    ("LIFE_HEALTH", "生命健康", "Life and health", ["C27", "C35", "Q84"]),
    ("HIGH_END_EQUIP", "高端装备", "High-end equipment", ["C34", "C35", "C37"]),
    ("BEIDOU", "北斗", "BeiDou navigation", ["C39", "I65"]),
    ("AUTO_SERVICE", "汽车制造与服务", "Automotive manufacturing and services", ["C36", "F51"]),
    ("MODERN_CHEM", "现代化工", "Modern chemicals", ["C26"]),
    ("SOFTWARE", "软件和信息技术服务", "Software and IT services", ["I64", "I65"]),
]


def seed(apps, schema_editor):
    Industry = apps.get_model("registry", "Industry")
    for code, zh, en, gbt in INDUSTRIES:
        Industry.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en, "gbt4754_codes": gbt})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
