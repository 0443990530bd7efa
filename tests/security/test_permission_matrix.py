"""Every API route and method against every kind of caller, with the expected status in ONE table.

The routes come from the URL configuration, so a new route without a row here fails the test. Writes are sent
with an empty body: a caller who may act gets past the permission and object checks to the input validation
(400) or the action itself; a caller who may not gets 401, 403 or 404 (never learning what is not theirs)."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.security.matrix_world import ROLES, api_routes, build_world, concrete

# role order: anon, a_admin, a_member, b_admin, bank_live, bank_none, bank_expired, bank_revoked, reviewer, platform
# (bank_expired and bank_revoked once had firm A's consent: without live consent they see what bank_none sees)
# fmt: off
EXPECTED: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/api/v1/assets/"): (401, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/assets/"): (401, 400, 400, 400, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/assets/<int:asset_id>/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("PATCH", "/api/v1/assets/<int:asset_id>/"): (401, 200, 200, 404, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/assets/<int:asset_id>/documents/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/assets/<int:asset_id>/documents/"): (401, 415, 415, 404, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/assets/<int:asset_id>/documents/<int:document_id>/download/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/assets/<int:asset_id>/retire/"): (401, 409, 403, 404, 403, 403, 403, 403, 409, 409),  # pledged: 409
    ("GET", "/api/v1/assets/<int:asset_id>/reviews/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/assets/<int:asset_id>/submit/"): (401, 409, 409, 404, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/assets/<int:asset_id>/versions/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/audit/"): (401, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/auth/token/"): (400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    ("GET", "/api/v1/catalog/"): (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),  # public
    ("GET", "/api/v1/consenting-firms/"): (401, 403, 403, 403, 200, 200, 200, 200, 403, 403),
    ("GET", "/api/v1/consents/"): (401, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/consents/"): (401, 400, 403, 400, 403, 403, 403, 403, 403, 403),
    ("DELETE", "/api/v1/consents/<int:consent_id>/"): (401, 204, 403, 404, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/credit-lines/"): (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/credit-lines/"): (401, 403, 403, 403, 400, 400, 400, 400, 403, 403),
    ("GET", "/api/v1/credit-lines/<int:credit_line_id>/"): (401, 200, 200, 404, 200, 404, 404, 404, 200, 200),
    ("GET", "/api/v1/credit/limits/<str:uscc>/"): (401, 403, 403, 403, 200, 404, 404, 404, 403, 403),
    ("GET", "/api/v1/credit/products/"): (401, 403, 403, 403, 200, 200, 200, 200, 403, 403),
    ("POST", "/api/v1/credit/products/"): (401, 403, 403, 403, 400, 400, 400, 400, 403, 403),
    ("GET", "/api/v1/firms/me/"): (401, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    ("PATCH", "/api/v1/firms/me/"): (401, 200, 403, 200, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/firms/me/innovation/"): (401, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/firms/me/indicators/"): (401, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    ("PUT", "/api/v1/firms/me/indicators/<int:year>/"): (401, 400, 403, 400, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/firms/me/members/"): (401, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    ("POST", "/api/v1/firms/me/members/"): (401, 400, 403, 400, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/imports/"): (401, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/imports/"): (401, 415, 415, 415, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/imports/<int:job_id>/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/imports/<int:job_id>/errors/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/imports/templates/<slug:kind>.<slug:fmt>"): (401, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/pledges/"): (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/review/assets/"): (401, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/review/assets/<int:asset_id>/approve/"): (401, 403, 403, 403, 403, 403, 403, 403, 409, 409),
    ("POST", "/api/v1/review/assets/<int:asset_id>/reject/"): (401, 403, 403, 403, 403, 403, 403, 403, 400, 400),
    ("POST", "/api/v1/review/valuations/<int:valuation_id>/approve/"): (401, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/review/valuations/<int:valuation_id>/reject/"): (401, 403, 403, 403, 403, 403, 403, 403, 400, 400),
    ("GET", "/api/v1/valuation-jobs/"): (401, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/valuation-jobs/"): (401, 400, 400, 400, 403, 403, 403, 403, 400, 400),
    ("GET", "/api/v1/valuation-jobs/<int:job_id>/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/valuations/"): (401, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/valuations/<int:valuation_id>/"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/valuations/<int:valuation_id>/report.pdf"): (401, 200, 200, 404, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/credit-lines/<int:credit_line_id>/events/"): (401, 200, 200, 404, 200, 404, 404, 404, 200, 200),
    ("GET", "/api/v1/credit-lines/<int:credit_line_id>/movements/"): (401, 200, 200, 404, 200, 404, 404, 404, 200, 200),
    ("POST", "/api/v1/credit-lines/<int:credit_line_id>/draws/"): (401, 403, 403, 403, 400, 404, 404, 404, 403, 403),
    ("POST", "/api/v1/credit-lines/<int:credit_line_id>/repayments/"): (401, 403, 403, 403, 400, 404, 404, 404, 403, 403),
    ("POST", "/api/v1/credit-lines/<int:credit_line_id>/close/"): (401, 403, 403, 403, 200, 404, 404, 404, 403, 403),
    ("POST", "/api/v1/credit-lines/<int:credit_line_id>/margin-check/"): (401, 403, 403, 403, 200, 404, 404, 404, 403, 403),
    ("GET", "/api/v1/credit/portfolio/"): (401, 403, 403, 403, 200, 200, 200, 200, 403, 403),
    ("GET", "/api/v1/credit/portfolio/export.csv"): (401, 403, 403, 403, 200, 200, 200, 200, 403, 403),
    ("GET", "/api/v1/credit/portfolio/export.xlsx"): (401, 403, 403, 403, 200, 200, 200, 200, 403, 403),
    ("GET", "/api/v1/credit/api-keys/"): (401, 403, 403, 403, 200, 200, 200, 200, 403, 403),
    ("POST", "/api/v1/credit/api-keys/"): (401, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    ("DELETE", "/api/v1/credit/api-keys/<str:prefix>/"): (401, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/v1/pledges/<int:pledge_id>/"): (401, 200, 200, 404, 200, 404, 404, 404, 200, 200),
    ("PATCH", "/api/v1/pledges/<int:pledge_id>/"): (401, 403, 403, 403, 400, 404, 404, 404, 403, 403),
    ("GET", "/api/v1/webhooks/"): (401, 403, 403, 403, 200, 200, 200, 200, 403, 403),
    ("POST", "/api/v1/webhooks/"): (401, 403, 403, 403, 400, 400, 400, 400, 403, 403),
    ("DELETE", "/api/v1/webhooks/<int:webhook_id>/"): (401, 403, 403, 403, 204, 404, 404, 404, 403, 403),
    ("GET", "/api/v1/webhooks/<int:webhook_id>/deliveries/"): (401, 403, 403, 403, 200, 404, 404, 404, 403, 403),
    ("POST", "/api/v1/webhooks/deliveries/<int:delivery_id>/replay/"): (401, 403, 403, 403, 202, 404, 404, 404, 403, 403),
}
# fmt: on


def test_every_route_has_a_row():
    missing = [mr for mr in api_routes() if mr not in EXPECTED]
    stale = [mr for mr in EXPECTED if mr not in api_routes()]
    assert missing == [], f"add rows to EXPECTED for {missing}"
    assert stale == []


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "route"), sorted(EXPECTED, key=lambda mr: (mr[1], mr[0])))
def test_permission_matrix(method, route):
    world = build_world()
    url = concrete(route, world.params)
    observed = []
    for role in ROLES:  # each caller meets the same world: what one caller changed is rolled back
        client = world.clients[role]
        savepoint = transaction.savepoint()
        response = getattr(client, method.lower())(url, {}, format="json") if method != "GET" else client.get(url)
        transaction.savepoint_rollback(savepoint)
        observed.append(response.status_code)
    assert dict(zip(ROLES, observed, strict=True)) == dict(zip(ROLES, EXPECTED[(method, route)], strict=True))
