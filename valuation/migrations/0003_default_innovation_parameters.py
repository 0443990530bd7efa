"""The default innovation-points parameter set "2026.1" (valuation.points), installed as the active set."""

from django.db import migrations

DESCRIPTION = (
    "Innovation-points defaults (valuation.points, domain.md 3.3): stage weights summing to 1, p1/p99 "
    "winsorising, percentile scores within the stage cohort, bonus points capped at 30, tiers A-E at 85/70/55/40."
)


def install_defaults(apps, schema_editor):
    from valuation.points import DEFAULT_INNOVATION_PARAMETERS

    InnovationParameterSet = apps.get_model("valuation", "InnovationParameterSet")
    version = DEFAULT_INNOVATION_PARAMETERS.version
    if InnovationParameterSet.objects.filter(version=version).exists():
        return
    InnovationParameterSet.objects.create(
        version=version,
        description=DESCRIPTION,
        data=DEFAULT_INNOVATION_PARAMETERS.as_dict(),
        is_active=not InnovationParameterSet.objects.filter(is_active=True).exists(),
    )


def remove_defaults(apps, schema_editor):
    from valuation.points import DEFAULT_INNOVATION_PARAMETERS

    InnovationParameterSet = apps.get_model("valuation", "InnovationParameterSet")
    # A set that was used is frozen and referenced by scores: keep it.
    InnovationParameterSet.objects.filter(
        version=DEFAULT_INNOVATION_PARAMETERS.version, first_used_at__isnull=True, scores__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("valuation", "0002_parameter_sets_innovation_chunks_reviews"),
    ]

    operations = [
        migrations.RunPython(install_defaults, remove_defaults),
    ]
