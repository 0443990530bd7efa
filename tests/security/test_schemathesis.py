"""Schemathesis against the OpenAPI document the app serves, once per kind of caller.

The schema is loaded from the real Django app in-process (WSGI, no server). Each role gets the permission
matrix's world (tests/security/matrix_world.py) on the disposable test database; then every operation is called
with that role's credentials: first once on the world's real objects, then with generated valid data (path ids
biased to the world's objects) and with generated invalid data. Every call runs inside a savepoint that is rolled
back, so each one sees the same world. Every response must:

- never be a 5xx;
- carry a status code the operation declares;
- carry a declared content type (errors: application/problem+json);
- match the declared body schema and declared headers;
- for invalid data, be a 4xx refusal (schemathesis' negative_data_rejection; a string too long only by the
  whitespace DRF trims off is rightly taken).

Failures are collected across all operations and reported together, so one run lists everything to fix.
Generation is derandomized (the same examples on every run) and Hypothesis keeps no example database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.matrix_world import ROLES, World, build_world

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]


def negative_data_rejection_after_trimming(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' negative_data_rejection, except for a string made too long only by whitespace around it:
    DRF's CharField trims before it counts, so taking such a value is right."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        mutations = getattr(case.meta.phase.data, "mutations", ())
        if mutations and all(
            "maxLength" in m.keywords and isinstance(m.new_value, str) and m.new_value.strip() != m.new_value
            for m in mutations
        ):
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection_after_trimming,
]

# Generated examples per operation, (valid, invalid). Sized so the whole fuzz stays within a few minutes on two
# cores: the roles that reach most of the API get the most; callers that are refused before their input is read
# (anonymous, banks without live consent) and operations the role is refused on get a token few, which still
# check the shape of the refusal.
FULL_BUDGET = (6, 3)
SMALL_BUDGET = (2, 1)
REFUSED_BUDGET = (1, 1)
SMALL_BUDGET_ROLES = {"anon", "bank_none", "bank_expired", "bank_revoked"}

FUZZ_SETTINGS: dict[str, Any] = {
    "derandomize": True,  # the same examples on every run, so CI is reproducible
    "database": None,  # no .hypothesis/ example database written into the repository
    "deadline": None,
    "print_blob": False,
    "phases": [Phase.explicit, Phase.generate, Phase.shrink],
    # The examples share the role's world, built once per test by function-scoped fixtures (each example runs
    # in its own rolled-back savepoint, so sharing is safe). Bodies of the larger schemas are slow to generate
    # and schemathesis filters invalid combinations, which Hypothesis would otherwise report as unhealthy.
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
}


@contextmanager
def _connection_kept_open() -> Iterator[None]:
    """Keep Django from closing the connection at the start and end of each in-process request (its test client
    does the same): the world lives in the test's transaction, which a closed connection would lose."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(django_db_blocker) -> Any:
    app = get_wsgi_application()
    # Credentials are the role's, sent with every call: schemathesis is not to generate Authorization headers
    # or session cookies from the security schemes.
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    with django_db_blocker.unblock(), _connection_kept_open():
        return schemathesis.openapi.from_wsgi(
            "/api/schema/", app, config=config, headers={"Accept": "application/vnd.oai.openapi+json"}
        )


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """In-process requests share the test's connection; afterwards, forget the rate-limit counters the fuzz ran
    up, so no later test inherits them."""
    with _connection_kept_open():
        yield
    cache.clear()


def _auth_headers(world: World, role: str) -> dict[str, str]:
    header = world.clients[role]._credentials.get("HTTP_AUTHORIZATION")  # what the matrix's client sends
    return {"Authorization": header} if header else {}


def _known_path_parameters(world: World, path: str) -> dict[str, Any]:
    """The world's real objects for the operation's path parameters, so examples get past the 404."""
    known: dict[str, Any] = {}
    for name in re.findall(r"{(\w+)}", path):
        if name == "job_id":
            key = "<int:import_job_id>" if path.startswith("/api/v1/imports/") else "<int:valuation_job_id>"
        else:
            key = next((k for k in world.params if k.endswith(f":{name}>")), "")
        if key not in world.params:
            return {}
        known[name] = int(world.params[key]) if key.startswith("<int:") else world.params[key]
    return known


def _takes_input(operation: Any) -> bool:
    """Whether anything but the path could be made invalid."""
    return bool(list(operation.query) or list(operation.headers) or list(operation.body))


def _strategy(operation: Any, mode: GenerationMode, known: dict[str, Any]) -> st.SearchStrategy:
    generated = operation.as_strategy(generation_mode=mode)
    if not known:
        return generated
    return st.one_of(operation.as_strategy(generation_mode=mode, path_parameters=known), generated)


def _fuzz(strategy: st.SearchStrategy, examples: int, call: Callable[[Any], int]) -> None:
    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        call(case)

    fuzz()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_within_its_schema(role, api_schema, in_test_transaction):
    world = build_world()
    headers = _auth_headers(world, role)
    assert headers or role == "anon", f"no credentials for {role}"

    def call(case: Any) -> int:
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=headers)
        finally:
            transaction.savepoint_rollback(savepoint)
        case.validate_response(response, checks=CHECKS, headers=headers)
        return response.status_code

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 50
    failures: list[str] = []
    statuses: set[int] = set()
    for operation in operations:
        known = _known_path_parameters(world, operation.path)
        budget = SMALL_BUDGET if role in SMALL_BUDGET_ROLES else FULL_BUDGET
        try:
            # The plain call on the world's objects (no body, no query) tells whether this role is let in at all.
            status = call(operation.Case(path_parameters=known or None))
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"[{role}] {operation.label} (on the world's objects): {exc}")
            continue
        statuses.add(status)
        if status in (401, 403):
            budget = REFUSED_BUDGET
        modes = [(GenerationMode.POSITIVE, budget[0])]
        if _takes_input(operation):
            modes.append((GenerationMode.NEGATIVE, budget[1]))
        for mode, examples in modes:
            try:
                _fuzz(_strategy(operation, mode, known), examples, call)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"[{role}] {operation.label} ({mode.value}): {exc}")

    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
    # The run really reached the API as this role: the anonymous caller is refused everywhere but at the token
    # endpoint, and every signed-in role gets at least one success.
    if role == "anon":
        assert 401 in statuses
    else:
        assert any(200 <= s < 300 for s in statuses), f"{role} never got a 2xx: {sorted(statuses)}"
