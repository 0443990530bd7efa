import pytest


@pytest.mark.django_db
def test_openapi_document_describes_every_api_route(client):
    from django.urls import get_resolver

    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    paths = set(r.json()["paths"])
    routes = {"/" + str(p.pattern) for p in get_resolver().url_patterns if str(p.pattern).startswith("api/v1")}
    assert routes == {"/api/v1/"}  # all API routes hang below /api/v1/
    for expected in (
        "/api/v1/assets/",
        "/api/v1/credit/limits/{uscc}/",
        "/api/v1/credit-lines/",
        "/api/v1/valuation-jobs/",
        "/api/v1/review/valuations/{valuation_id}/approve/",
        "/api/v1/consents/{consent_id}/",
        "/api/v1/pledges/",
        "/api/v1/audit/",
    ):
        assert expected in paths
    schemes = r.json()["components"]["securitySchemes"]
    assert {"BankApiKey", "tokenAuth"} <= set(schemes)


@pytest.mark.django_db
def test_root_page_links_the_docs_and_the_admin(client):
    r = client.get("/")
    assert r.status_code == 200
    body = r.content.decode()
    assert 'href="/api/docs/"' in body
    assert 'href="/admin/"' in body
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_admin_lists_every_model(admin_client):
    for url in (
        "/admin/registry/asset/",
        "/admin/registry/firm/",
        "/admin/registry/consent/",
        "/admin/registry/bankapikey/",
        "/admin/valuation/valuation/",
        "/admin/valuation/valuationjob/",
        "/admin/credit/creditline/",
        "/admin/credit/pledge/",
        "/admin/credit/creditproduct/",
        "/admin/common/auditevent/",
    ):
        assert admin_client.get(url).status_code == 200, url
