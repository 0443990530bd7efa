"""Parameter sets in the back office: copy a used set to a new version, then activate it."""

import pytest

from valuation.innovation import innovation_parameters_active
from valuation.models import InnovationParameterSet, ParameterSet
from valuation.services import parameter_set_active

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "active", "url"),
    [
        (ParameterSet, parameter_set_active, "/admin/valuation/parameterset/"),
        (InnovationParameterSet, innovation_parameters_active, "/admin/valuation/innovationparameterset/"),
    ],
)
def test_copy_then_activate_from_the_admin(admin_client, model, active, url):
    used = active()  # first use freezes it
    r = admin_client.post(url, {"action": "copy_as_new_version", "_selected_action": [used.pk]})
    assert r.status_code == 302
    new = model.objects.exclude(pk=used.pk).get()
    assert new.version.startswith(used.version)
    assert not new.is_active

    admin_client.post(url, {"action": "activate", "_selected_action": [new.pk]})
    assert list(model.objects.filter(is_active=True).values_list("pk", flat=True)) == [new.pk]


def test_a_used_valuation_set_cannot_be_edited_in_place(admin_client):
    used = parameter_set_active()
    ParameterSet.objects.filter(pk=used.pk).update(first_used_at="2026-01-01T00:00:00Z")
    r = admin_client.get(f"/admin/valuation/parameterset/{used.pk}/change/")
    assert r.status_code == 200
    assert 'name="data"' not in r.content.decode()  # shown read-only
