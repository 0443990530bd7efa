"""GET /api/v1/catalog/: approved data assets as DCAT-AP 3, validated with the official SHACL shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, RDF, SH

from registry import catalog
from registry.models import Asset
from tests.factories.registry import AssetFactory, FirmFactory, data_details

pytestmark = pytest.mark.django_db

SHAPES = Path(__file__).resolve().parent.parent / "data" / "dcat-ap-3.0.0"
URL = "/api/v1/catalog/"
DCAT = Namespace("http://www.w3.org/ns/dcat#")  # open: rdflib's DCAT warns when pytest probes it
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")

SECRET_COST = "314159.26"
SECRET_REVENUE = "2718281.83"
PERSON = "欧阳明远"  # the firm's legal representative: a person, never in the catalog


def _shapes(*names: str) -> Graph:
    graph = Graph()
    for name in names:
        graph.parse(SHAPES / name, format="turtle")
    return graph


@pytest.fixture(scope="module")
def mandatory_shapes() -> Graph:
    return _shapes("dcat-ap-SHACL.ttl", "range.ttl")


@pytest.fixture(scope="module")
def recommended_shapes() -> Graph:
    return _shapes("shapes_recommended.ttl")


@pytest.fixture
def estate():
    firm = FirmFactory(name="武汉数据资源测试有限公司", legal_representative=PERSON)
    full = AssetFactory(
        firm=firm,
        kind=Asset.Kind.DATA,
        title="光谷园区能耗监测数据集",
        details=data_details(
            description="园区企业分时能耗读数",
            category="energy",
            keywords=["能耗", "物联网"],
            license="https://creativecommons.org/licenses/by/4.0/",
            time_span_start="2023-01-01",
            time_span_end="2025-12-31",
            registration={
                "registry": "湖北省数据知识产权登记平台",
                "number": "DIP-2025-000123",
                "issued_on": "2025-03-01",
            },
            cost={"acquisition": SECRET_COST, "processing": "1.00"},
            revenue_history=[{"year": 2025, "amount": SECRET_REVENUE}],
            contains_personal_info=False,
        ),
        identifier="data:湖北省数据知识产权登记平台:DIP-2025-000123",
    )
    bare = AssetFactory(
        firm=FirmFactory(name="襄阳测试物流有限公司"),
        kind=Asset.Kind.DATA,
        title="Bare data asset",
        details=data_details(category="custom_thing", license="内部授权使用", update_frequency="static"),
        identifier=None,
    )
    draft = AssetFactory(
        firm=firm, kind=Asset.Kind.DATA, title="Draft data", status=Asset.Status.DRAFT, identifier=None
    )
    submitted = AssetFactory(
        firm=firm, kind=Asset.Kind.DATA, title="Submitted data", status=Asset.Status.SUBMITTED, identifier=None
    )
    patent = AssetFactory(firm=firm, title="Approved patent")
    return {"firm": firm, "full": full, "bare": bare, "absent": [draft, submitted, patent]}


def _get(api_client, **params):
    return api_client.get(URL, params)


def _graph(response, fmt: str) -> Graph:
    return Graph().parse(data=response.content.decode("utf-8"), format=fmt)


def _dataset(asset: Asset, base: str = "http://testserver/api/v1/catalog/") -> URIRef:
    return URIRef(f"{base}#dataset-{asset.pk}")


def test_json_ld_by_default_and_turtle_on_request_give_the_same_graph(api_client, estate):
    jsonld = _get(api_client)
    assert jsonld.status_code == 200
    assert jsonld["Content-Type"] == "application/ld+json"
    assert isinstance(json.loads(jsonld.content), dict)
    turtle = _get(api_client, format="ttl")
    assert turtle.status_code == 200
    assert turtle["Content-Type"].startswith("text/turtle")
    assert isomorphic(_graph(jsonld, "json-ld"), _graph(turtle, "turtle"))


def test_the_accept_header_chooses_turtle_too(api_client, estate):
    response = api_client.get(URL, HTTP_ACCEPT="text/turtle")
    assert response["Content-Type"].startswith("text/turtle")
    response = api_client.get(URL, HTTP_ACCEPT="text/turtle;q=0.5, application/ld+json")
    assert response["Content-Type"] == "application/ld+json"
    response = api_client.get(URL, HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response["Content-Type"] == "application/ld+json"
    assert "Accept" in response["Vary"]


def test_the_catalog_has_no_shacl_violations(api_client, estate, mandatory_shapes):
    data = _graph(_get(api_client, format="ttl"), "turtle")
    conforms, results, text = validate(data, shacl_graph=mandatory_shapes, inference="none", allow_warnings=True)
    violations = list(results.subjects(SH.resultSeverity, SH.Violation))
    assert violations == [], text
    assert conforms, text


def test_recommended_properties_are_present_where_the_asset_has_them(api_client, estate, recommended_shapes):
    data = _graph(_get(api_client), "json-ld")
    _conforms, results, text = validate(data, shacl_graph=recommended_shapes, inference="none")
    assert list(results.subjects(SH.resultSeverity, SH.Violation)) == [], text
    missing = {
        (focus, path)
        for result in results.subjects(RDF.type, SH.ValidationResult)
        for focus in results.objects(result, SH.focusNode)
        for path in results.objects(result, SH.resultPath)
    }
    full = _dataset(estate["full"])
    # The full asset has keywords, a theme, a publisher and a time span: none of them is reported missing.
    for path in (DCAT.keyword, DCAT.theme, DCTERMS.publisher, DCTERMS.temporal):
        assert (full, path) not in missing, path
    # What the registry never has publicly (a contact point, a distribution) is the only gap of the dataset.
    assert {path for focus, path in missing if focus == full} <= {DCAT.contactPoint, DCAT.distribution, DCTERMS.spatial}
    catalog_node = URIRef("http://testserver/api/v1/catalog/")
    for path in (
        DCTERMS.language,
        DCTERMS.issued,
        DCTERMS.modified,
        DCTERMS.spatial,
        FOAF.homepage,
        DCAT.themeTaxonomy,
    ):
        assert (catalog_node, path) not in missing, path
    firm = URIRef(f"http://testserver/api/v1/catalog/#firm-{estate['firm'].uscc}")
    assert (firm, DCTERMS.type) not in missing


def test_each_dataset_carries_its_public_fields(api_client, estate):
    g = _graph(_get(api_client, format="ttl"), "turtle")
    full = _dataset(estate["full"])
    assert (full, RDF.type, DCAT.Dataset) in g
    assert (URIRef("http://testserver/api/v1/catalog/"), DCAT.dataset, full) in g
    assert g.value(full, DCTERMS.title) == Literal("光谷园区能耗监测数据集")
    assert g.value(full, DCTERMS.description) == Literal("园区企业分时能耗读数")
    assert {str(k) for k in g.objects(full, DCAT.keyword)} == {"能耗", "物联网", "energy"}
    assert g.value(full, DCAT.theme) == URIRef("http://publications.europa.eu/resource/authority/data-theme/ENER")
    publisher = g.value(full, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g
    assert g.value(publisher, FOAF.name) == Literal("武汉数据资源测试有限公司")
    assert g.value(publisher, DCTERMS.identifier) == Literal(estate["firm"].uscc)
    period = g.value(full, DCTERMS.temporal)
    assert str(g.value(period, DCAT.startDate)) == "2023-01-01"
    assert str(g.value(period, DCAT.endDate)) == "2025-12-31"
    assert g.value(full, DCTERMS.accrualPeriodicity) == URIRef(
        "http://publications.europa.eu/resource/authority/frequency/DAILY"
    )
    assert g.value(full, DCTERMS.accessRights) == URIRef(
        "http://publications.europa.eu/resource/authority/access-right/RESTRICTED"
    )
    assert g.value(full, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert str(g.value(g.value(full, ADMS.identifier), URIRef("http://www.w3.org/2004/02/skos/core#notation"))) == (
        "DIP-2025-000123"
    )
    assert g.value(full, DCTERMS.issued) is not None
    assert g.value(full, DCTERMS.modified) is not None

    bare = _dataset(estate["bare"])
    assert g.value(bare, DCAT.theme) is None  # an unknown category is a keyword, not a guessed theme
    assert g.value(bare, DCTERMS.temporal) is None
    assert str(g.value(g.value(bare, DCTERMS.license), URIRef("http://www.w3.org/2000/01/rdf-schema#label"))) == (
        "内部授权使用"
    )


def test_only_approved_data_assets_are_listed(api_client, estate):
    g = _graph(_get(api_client, format="ttl"), "turtle")
    listed = set(g.subjects(RDF.type, DCAT.Dataset))
    assert listed == {_dataset(estate["full"]), _dataset(estate["bare"])}
    text = _get(api_client).content.decode("utf-8") + _get(api_client, format="ttl").content.decode("utf-8")
    for asset in estate["absent"]:
        assert asset.title not in text


def test_private_fields_never_appear(api_client, estate):
    for params in ({}, {"format": "ttl"}):
        text = _get(api_client, **params).content.decode("utf-8")
        for secret in (SECRET_COST, SECRET_REVENUE, "314159", "2718281", PERSON, "300000.00", "120000.00"):
            assert secret not in text, (params, secret)
        for word in ("revenue", "acquisition", "legal_representative", "quality", "income", "comparables"):
            assert word not in text, (params, word)
        assert re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text) is None  # no e-mail address of anyone


def test_pages_link_to_each_other(api_client, estate, monkeypatch):
    monkeypatch.setattr(catalog, "CATALOG_PAGE_SIZE", 1)
    first = _get(api_client, format="ttl")
    assert first["Link"] == '<http://testserver/api/v1/catalog/?page=2&format=ttl>; rel="next"'
    g = _graph(first, "turtle")
    view = URIRef("http://testserver/api/v1/catalog/")
    assert g.value(view, HYDRA.next) == URIRef("http://testserver/api/v1/catalog/?page=2")
    assert int(g.value(URIRef("http://testserver/api/v1/catalog/"), HYDRA.totalItems)) == 2
    assert set(g.subjects(RDF.type, DCAT.Dataset)) == {_dataset(estate["full"])}
    second = _graph(_get(api_client, page=2, format="ttl"), "turtle")
    view2 = URIRef("http://testserver/api/v1/catalog/?page=2")
    assert second.value(view2, HYDRA.previous) == view
    assert second.value(view2, HYDRA.next) is None
    assert set(second.subjects(RDF.type, DCAT.Dataset)) == {_dataset(estate["bare"])}
    assert "Link" not in _get(api_client, page=2)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"format": "xml"}, 400),
        ({"format": "TTL"}, 400),
        ({"page": "0"}, 400),
        ({"page": "x"}, 400),
        ({"page": "9"}, 404),
    ],
)
def test_bad_queries_are_problem_details(api_client, estate, params, status):
    response = _get(api_client, **params)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == status


def test_blank_parameters_read_as_not_sent_like_every_filter(api_client, estate):
    response = _get(api_client, format="", page="")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"


def test_an_empty_catalog_is_still_a_valid_catalog(api_client, mandatory_shapes):
    response = _get(api_client)
    assert response.status_code == 200
    g = _graph(response, "json-ld")
    assert set(g.subjects(RDF.type, DCAT.Catalog)) == {URIRef("http://testserver/api/v1/catalog/")}
    conforms, _results, text = validate(g, shacl_graph=mandatory_shapes, inference="none")
    assert conforms, text


def test_no_authentication_is_needed_and_a_signed_in_caller_gets_the_same(api_client, client_for, estate):
    anonymous = _get(api_client, format="ttl")
    signed_in = client_for(estate["firm"].users.first() or None).get(URL, {"format": "ttl"})
    assert anonymous.status_code == signed_in.status_code == 200
    assert isomorphic(_graph(anonymous, "turtle"), _graph(signed_in, "turtle"))


def test_the_catalog_costs_two_queries_whatever_its_size(api_client, estate, django_assert_max_num_queries):
    for n in range(5):
        AssetFactory(
            firm=FirmFactory(), kind=Asset.Kind.DATA, title=f"More data {n}", details=data_details(), identifier=None
        )
    with django_assert_max_num_queries(2):
        response = _get(api_client)
    assert response.status_code == 200


def test_anonymous_callers_spend_the_read_budget_of_their_address(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"limit": "3/min", "write": "2/min", "read": "3/min"},
    }
    cache.clear()
    try:
        assert [_get(api_client).status_code for _ in range(3)] == [200, 200, 200]
        refused = _get(api_client)
        assert refused.status_code == 429
        assert refused["Content-Type"].startswith("application/problem+json")
        other_address = api_client.get(URL, REMOTE_ADDR="203.0.113.9")
        assert other_address.status_code == 200
    finally:
        cache.clear()
