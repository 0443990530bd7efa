"""Versioned parameter sets (valuation and innovation points): a used set is never edited in place; a change is a
new version, validated by the code that will read it, and one set at a time is active."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction

from common.audit import Actor, audit_record
from valuation.models import InnovationParameterSet, ParameterSet, ParameterSetBase

SetT = TypeVar("SetT", bound=ParameterSetBase)
AUDIT_NAMES = {ParameterSet: "parameter_set", InnovationParameterSet: "innovation_parameter_set"}


@transaction.atomic
def parameter_set_copy(
    *,
    source: SetT,
    version: str,
    data: dict[str, Any] | None,
    check: Callable[[dict], Any],
    actor: Actor,
    user: Any = None,
) -> SetT:
    """A new version of ``source``'s kind with ``data`` (default: the source's), checked by ``check``."""
    new_data = {**(data if data is not None else source.data), "version": version}
    check(new_data)  # raises on parameters the reading code would refuse
    model = type(source)
    created = model.objects.create(
        version=version, data=new_data, description=f"From {source.version}", created_by=user
    )
    audit_record(
        actor=actor,
        action=f"{model._meta.model_name}.created",
        object_type=model._meta.model_name,
        object_id=created.pk,
        data={"version": version, "from": source.version},
    )
    return created


@transaction.atomic
def parameter_set_make_active(*, parameter_set: SetT, check: Callable[[dict], Any], actor: Actor) -> SetT:
    check(parameter_set.data)
    model = type(parameter_set)
    model.objects.filter(is_active=True).exclude(pk=parameter_set.pk).update(is_active=False)
    model.objects.filter(pk=parameter_set.pk).update(is_active=True)
    audit_record(
        actor=actor,
        action=f"{model._meta.model_name}.activated",
        object_type=model._meta.model_name,
        object_id=parameter_set.pk,
        data={"version": parameter_set.version},
    )
    parameter_set.refresh_from_db()
    return parameter_set
