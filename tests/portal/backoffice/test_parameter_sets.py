"""Parameter sets: a used set is never mutated; "Edit as a new version" saves a new row validated by the engine's
own parser, optionally made active; the change page lists every version with its parameter changes."""

from __future__ import annotations

import copy

import pytest

from common.models import AuditEvent
from valuation.innovation import innovation_parameters_active
from valuation.models import InnovationParameterSet, ParameterSet
from valuation.services import parameter_set_active

pytestmark = pytest.mark.django_db

URL = "/admin/valuation/parameterset/"


def _form(data: dict, **extra: object) -> dict:
    import json

    return {"version": "", "description": "", "data": json.dumps(data), **extra}


def test_saving_a_used_set_creates_a_new_version_and_keeps_the_old_one(admin_client, admin_user):
    used = parameter_set_active()
    ParameterSet.objects.filter(pk=used.pk).update(first_used_at="2026-01-01T00:00:00Z")
    before = copy.deepcopy(ParameterSet.objects.get(pk=used.pk).data)
    change = admin_client.get(f"{URL}{used.pk}/change/")
    assert 'name="data"' not in change.text
    assert 'data-testid="new-parameter-version"' in change.text

    page = admin_client.get(f"{URL}{used.pk}/new-version/")
    assert page.status_code == 200
    proposed = page.context["form"].initial["version"]
    data = {k: v for k, v in before.items() if k != "version"}
    data["tax_rate"] = "0.15"
    r = admin_client.post(
        f"{URL}{used.pk}/new-version/",
        _form(data, version=proposed, description="Lower tax rate for high-tech firms", activate="on"),
    )

    assert r.status_code == 302, r.context["form"].errors if r.context else r
    new = ParameterSet.objects.get(version=proposed)
    old = ParameterSet.objects.get(pk=used.pk)
    assert r.url == f"{URL}{new.pk}/change/"
    assert (new.data["tax_rate"], new.data["version"], new.created_by_id) == ("0.15", proposed, admin_user.pk)
    assert "Lower tax rate" in new.description
    assert old.data == before
    assert old.version == used.version
    assert (new.is_active, old.is_active) == (True, False)
    assert AuditEvent.objects.filter(action="parameterset.created", object_id=str(new.pk)).exists()
    assert AuditEvent.objects.filter(action="parameterset.activated", object_id=str(new.pk)).exists()

    history = admin_client.get(f"{URL}{new.pk}/change/")
    assert 'data-testid="parameter-history"' in history.text
    assert used.version in history.text
    assert proposed in history.text
    assert '<span class="diff-added">&quot;0.15&quot;</span>' in history.text


def test_the_next_version_label_counts_up(admin_client):
    used = parameter_set_active()
    page = admin_client.get(f"{URL}{used.pk}/new-version/")
    head, _, tail = used.version.rpartition(".")
    assert page.context["form"].initial["version"] == f"{head}.{int(tail) + 1}"


def test_parameters_the_engine_refuses_are_not_saved(admin_client):
    used = parameter_set_active()
    data = {k: v for k, v in used.data.items() if k != "version"}
    r = admin_client.post(f"{URL}{used.pk}/new-version/", _form({**data, "bogus": 1}, version="2099.1"))
    assert r.status_code == 200
    assert "unknown parameters: bogus" in str(r.context["form"].errors["data"])  # the engine's own refusal
    assert not ParameterSet.objects.filter(version="2099.1").exists()

    taken = admin_client.post(f"{URL}{used.pk}/new-version/", _form(data, version=used.version))
    assert taken.context["form"].errors["version"]


def test_without_activation_the_active_set_stays(admin_client):
    used = parameter_set_active()
    data = {k: v for k, v in used.data.items() if k != "version"}
    admin_client.post(f"{URL}{used.pk}/new-version/", _form(data, version="2099.2"))
    assert list(ParameterSet.objects.filter(is_active=True).values_list("pk", flat=True)) == [used.pk]
    assert ParameterSet.objects.filter(version="2099.2", is_active=False).exists()


def test_innovation_sets_work_the_same_way(admin_client):
    used = innovation_parameters_active()
    data = {k: v for k, v in used.data.items() if k != "version"}
    url = "/admin/valuation/innovationparameterset/"
    r = admin_client.post(f"{url}{used.pk}/new-version/", _form(data, version="2099.3", activate="on"))
    assert r.status_code == 302
    assert InnovationParameterSet.objects.get(version="2099.3").is_active
    assert InnovationParameterSet.objects.get(pk=used.pk).data == used.data


def test_a_view_only_reviewer_cannot_make_versions(signed_in, reviewer_a):
    used = parameter_set_active()
    client = signed_in(reviewer_a)
    assert client.get(f"{URL}{used.pk}/change/").status_code == 200
    assert client.get(f"{URL}{used.pk}/new-version/").status_code == 403


@pytest.mark.parametrize(
    ("url", "model", "own", "other", "refusal"),
    [
        (URL, ParameterSet, parameter_set_active, innovation_parameters_active, "unknown parameters: "),
        (
            "/admin/valuation/innovationparameterset/",
            InnovationParameterSet,
            innovation_parameters_active,
            parameter_set_active,
            "unknown innovation parameters: ",
        ),
    ],
)
def test_the_add_form_checks_the_data_with_its_own_engine_parser(admin_client, url, model, own, other, refusal):
    own_data = {k: v for k, v in own().data.items() if k != "version"}
    other_data = {k: v for k, v in other().data.items() if k != "version"}

    refused = admin_client.post(f"{url}add/", _form(other_data, version="2099.5"))
    assert refused.status_code == 200
    assert refusal in str(refused.context["adminform"].form.non_field_errors())  # the engine's own refusal
    assert not model.objects.filter(version="2099.5").exists()

    saved = admin_client.post(f"{url}add/", _form(own_data, version="2099.6"))
    assert saved.status_code == 302
    assert model.objects.get(version="2099.6").data == {**own_data, "version": "2099.6"}
