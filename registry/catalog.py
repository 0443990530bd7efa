"""The public catalog of approved data assets, as DCAT-AP 3 (rdflib): JSON-LD or Turtle.

Only public fields leave here, read through a whitelist (``catalog_dataset_of``): the title, the description,
the category and keywords, the licence, the time span, the update frequency, the data registration number and
the firm (name, unified social credit code). Never costs, revenue, income inputs, quality scores, valuations,
people (a firm's legal representative, users) or any contact detail: the registry holds no public contact
point, so datasets carry no ``dcat:contactPoint``, and no distribution (the details name no format, media type
or access URL: the data are held by the firm, not published here).

One catalog, paged: ``page`` 1, 2, ... of ``CATALOG_PAGE_SIZE`` datasets each (oldest asset first, so pages are
stable as assets are added). Every page is the same ``dcat:Catalog`` (its IRI is the catalog URL without
query) listing that page's datasets; when there is more than one page, a Hydra ``PartialCollectionView``
(``hydra:first``, ``previous``, ``next``, ``last``) and ``hydra:totalItems`` say where the rest is, and the
response carries ``Link: <...>; rel="next"``.

Vocabulary choices [A]: the category maps to an EU data theme where the mapping is obvious; the update
frequency to the EU frequency authority table; the security level to EU access rights (``general`` is
RESTRICTED: available under an agreement with the holder; ``important`` 重要数据 is NON_PUBLIC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from registry.models import Asset

CATALOG_PAGE_SIZE = 500

ADMS = Namespace("http://www.w3.org/ns/adms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
DATA_THEME = URIRef(EU_AUTHORITY + "data-theme")
PUBLISHER_COMPANY = URIRef("http://purl.org/adms/publishertype/Company")
LANGUAGES = {"zh-Hans": URIRef(EU_AUTHORITY + "language/ZHO"), "en": URIRef(EU_AUTHORITY + "language/ENG")}

FORMATS = {"jsonld": "application/ld+json", "ttl": "text/turtle; charset=utf-8"}
DEFAULT_FORMAT = "jsonld"

# details.category (free text, lower-cased) to an EU data theme, where the match is plain.
THEMES = {
    "agriculture": "AGRI",
    "education": "EDUC",
    "culture": "EDUC",
    "energy": "ENER",
    "environment": "ENVI",
    "finance": "ECON",
    "economy": "ECON",
    "retail": "ECON",
    "government": "GOVE",
    "public_sector": "GOVE",
    "health": "HEAL",
    "healthcare": "HEAL",
    "medical": "HEAL",
    "international": "INTR",
    "justice": "JUST",
    "region": "REGI",
    "geospatial": "REGI",
    "population": "SOCI",
    "society": "SOCI",
    "science": "TECH",
    "technology": "TECH",
    "industrial_iot": "TECH",
    "manufacturing": "TECH",
    "transport": "TRAN",
    "logistics": "TRAN",
}
FREQUENCIES = {
    "realtime": "UPDATE_CONT",
    "hourly": "HOURLY",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
    "static": "NEVER",
}
ACCESS_RIGHTS = {"general": "RESTRICTED", "important": "NON_PUBLIC"}
# The authority tables' own English labels (skos:prefLabel), which DCAT-AP requires on every skos:Concept.
THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport",
    "ENER": "Energy",
    "ENVI": "Environment",
    "GOVE": "Government and public sector",
    "HEAL": "Health",
    "INTR": "International issues",
    "JUST": "Justice, legal system and public safety",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TECH": "Science and technology",
    "TRAN": "Transport",
}

CATALOG_TITLE = _("Hubei data asset catalog")
CATALOG_DESCRIPTION = _(
    "Data assets registered by technology firms of Hubei and approved by the registry's reviewers. "
    "The data stay with the firm that holds them; this catalog describes them."
)
CATALOG_PUBLISHER = _("Hubei soft-asset registry and credit conversion service")
REGION_NAME = _("Hubei Province")
REGION_CODE = "420000"


# --- what the catalog reads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogDataset:
    asset_id: int
    title: str
    description: str
    keywords: tuple[str, ...]
    category: str
    licence: str
    registration_number: str
    registration_registry: str
    time_span_start: date | None
    time_span_end: date | None
    update_frequency: str
    security_level: str
    issued: datetime
    modified: datetime
    firm_name: str
    firm_uscc: str


@dataclass(frozen=True)
class CatalogPage:
    datasets: tuple[CatalogDataset, ...]
    number: int
    page_count: int
    total: int


def catalog_asset_qs() -> QuerySet[Asset]:
    """Approved data assets of active firms, oldest first."""
    return (
        Asset.objects.filter(kind=Asset.Kind.DATA, status=Asset.Status.APPROVED, firm__is_active=True)
        .select_related("firm")
        .order_by("pk")
    )


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def catalog_dataset_of(asset: Asset) -> CatalogDataset:
    """The public fields of one approved data asset (a whitelist: nothing else is read)."""
    details: Mapping[str, Any] = asset.details if isinstance(asset.details, Mapping) else {}
    registration = details.get("registration") if isinstance(details.get("registration"), Mapping) else {}
    keywords = details.get("keywords") if isinstance(details.get("keywords"), list) else []
    return CatalogDataset(
        asset_id=asset.pk,
        title=asset.title,
        description=_str(details.get("description")) or asset.title,
        keywords=tuple(dict.fromkeys(k.strip() for k in keywords if isinstance(k, str) and k.strip())),
        category=_str(details.get("category")),
        licence=_str(details.get("license")),
        registration_number=_str(registration.get("number")),
        registration_registry=_str(registration.get("registry")),
        time_span_start=_date(details.get("time_span_start")),
        time_span_end=_date(details.get("time_span_end")),
        update_frequency=_str(details.get("update_frequency")),
        security_level=_str(details.get("security_level")),
        issued=asset.created_at,
        modified=asset.decided_at or asset.updated_at,
        firm_name=asset.firm.name,
        firm_uscc=asset.firm.uscc,
    )


class CatalogPageNotFound(LookupError):
    pass


def catalog_page_get(*, page: int, page_size: int = CATALOG_PAGE_SIZE) -> CatalogPage:
    """One page of the catalog (one query for the count, one for the page). Page 1 always exists."""
    qs = catalog_asset_qs()
    total = qs.count()
    page_count = max(1, -(-total // page_size))
    if page < 1 or page > page_count:
        raise CatalogPageNotFound(page)
    start = (page - 1) * page_size
    assets = qs[start : start + page_size] if total else []
    return CatalogPage(
        datasets=tuple(catalog_dataset_of(a) for a in assets), number=page, page_count=page_count, total=total
    )


# --- the graph ------------------------------------------------------------------------------------------


def _both_languages(graph: Graph, subject: URIRef | BNode, predicate: URIRef, text: Any) -> None:
    """``text`` (a lazy translation) in Chinese and English, tagged; once if both read the same."""
    seen = set()
    for code, tag in (("zh-hans", "zh-Hans"), ("en", "en")):
        with translation.override(code):
            value = str(text)
        if value not in seen:
            graph.add((subject, predicate, Literal(value, lang=tag)))
            seen.add(value)


def _concept(graph: Graph, iri: URIRef, cls: URIRef = SKOS.Concept) -> URIRef:
    graph.add((iri, RDF.type, cls))
    return iri


def _datetime(value: datetime) -> Literal:
    return Literal(value.replace(microsecond=0).isoformat(), datatype=XSD.dateTime)


def page_url(catalog_url: str, number: int) -> str:
    return catalog_url if number == 1 else f"{catalog_url}?page={number}"


def catalog_graph(*, page: CatalogPage, catalog_url: str, site_url: str) -> Graph:
    """The DCAT-AP 3 graph of one catalog page. ``catalog_url`` is the catalog's IRI (no query)."""
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("dct", DCTERMS)
    g.bind("foaf", FOAF)
    g.bind("skos", SKOS)
    g.bind("adms", ADMS)
    g.bind("hydra", HYDRA)

    catalog = URIRef(catalog_url)
    g.add((catalog, RDF.type, DCAT.Catalog))
    _both_languages(g, catalog, DCTERMS.title, CATALOG_TITLE)
    _both_languages(g, catalog, DCTERMS.description, CATALOG_DESCRIPTION)
    operator = URIRef(f"{catalog_url}#publisher")
    g.add((operator, RDF.type, FOAF.Agent))
    _both_languages(g, operator, FOAF.name, CATALOG_PUBLISHER)
    g.add((catalog, DCTERMS.publisher, operator))
    homepage = URIRef(site_url)
    g.add((homepage, RDF.type, FOAF.Document))
    g.add((catalog, FOAF.homepage, homepage))
    for language in LANGUAGES.values():
        g.add((catalog, DCTERMS.language, _concept(g, language, DCTERMS.LinguisticSystem)))
    region = URIRef(f"{catalog_url}#region-{REGION_CODE}")
    g.add((region, RDF.type, DCTERMS.Location))
    _both_languages(g, region, SKOS.prefLabel, REGION_NAME)
    g.add((region, DCTERMS.identifier, Literal(REGION_CODE)))
    g.add((catalog, DCTERMS.spatial, region))
    g.add((catalog, DCAT.themeTaxonomy, _concept(g, DATA_THEME, SKOS.ConceptScheme)))
    g.add((DATA_THEME, DCTERMS.title, Literal("Data theme", lang="en")))
    if page.datasets:
        g.add((catalog, DCTERMS.issued, _datetime(min(d.issued for d in page.datasets))))
        g.add((catalog, DCTERMS.modified, _datetime(max(d.modified for d in page.datasets))))

    firms: dict[str, URIRef] = {}
    for dataset in page.datasets:
        publisher = firms.get(dataset.firm_uscc)
        if publisher is None:
            publisher = firms[dataset.firm_uscc] = URIRef(f"{catalog_url}#firm-{dataset.firm_uscc}")
            g.add((publisher, RDF.type, FOAF.Agent))
            g.add((publisher, FOAF.name, Literal(dataset.firm_name)))
            g.add((publisher, DCTERMS.identifier, Literal(dataset.firm_uscc)))
            g.add((publisher, DCTERMS.type, _concept(g, PUBLISHER_COMPANY)))
            g.add((PUBLISHER_COMPANY, SKOS.prefLabel, Literal("Company", lang="en")))
        node = _dataset(g, dataset, catalog_url=catalog_url, publisher=publisher)
        g.add((catalog, DCAT.dataset, node))

    g.add((catalog, HYDRA.totalItems, Literal(page.total)))
    if page.page_count > 1:
        view = URIRef(page_url(catalog_url, page.number))
        g.add((catalog, HYDRA.view, view))
        g.add((view, RDF.type, HYDRA.PartialCollectionView))
        g.add((view, HYDRA.first, URIRef(page_url(catalog_url, 1))))
        g.add((view, HYDRA.last, URIRef(page_url(catalog_url, page.page_count))))
        if page.number > 1:
            g.add((view, HYDRA.previous, URIRef(page_url(catalog_url, page.number - 1))))
        if page.number < page.page_count:
            g.add((view, HYDRA.next, URIRef(page_url(catalog_url, page.number + 1))))
    return g


def _dataset(g: Graph, d: CatalogDataset, *, catalog_url: str, publisher: URIRef) -> URIRef:
    node = URIRef(f"{catalog_url}#dataset-{d.asset_id}")
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Literal(str(node))))
    g.add((node, DCTERMS.title, Literal(d.title)))
    g.add((node, DCTERMS.description, Literal(d.description)))
    g.add((node, DCTERMS.publisher, publisher))
    g.add((node, DCTERMS.issued, _datetime(d.issued)))
    g.add((node, DCTERMS.modified, _datetime(d.modified)))
    for keyword in dict.fromkeys((*d.keywords, d.category) if d.category else d.keywords):
        g.add((node, DCAT.keyword, Literal(keyword)))
    theme = THEMES.get(d.category.casefold())
    if theme:
        concept = _concept(g, URIRef(f"{EU_AUTHORITY}data-theme/{theme}"))
        g.add((concept, SKOS.inScheme, DATA_THEME))
        g.add((concept, SKOS.prefLabel, Literal(THEME_LABELS[theme], lang="en")))
        g.add((node, DCAT.theme, concept))
    if d.registration_number:
        identifier = BNode(f"registration-{d.asset_id}")
        g.add((identifier, RDF.type, ADMS.Identifier))
        g.add((identifier, SKOS.notation, Literal(d.registration_number)))
        if d.registration_registry:
            g.add((identifier, ADMS.schemaAgency, Literal(d.registration_registry)))
        g.add((node, ADMS.identifier, identifier))
    if d.time_span_start or d.time_span_end:
        period = BNode(f"period-{d.asset_id}")
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if d.time_span_start:
            g.add((period, DCAT.startDate, Literal(d.time_span_start.isoformat(), datatype=XSD.date)))
        if d.time_span_end:
            g.add((period, DCAT.endDate, Literal(d.time_span_end.isoformat(), datatype=XSD.date)))
        g.add((node, DCTERMS.temporal, period))
    frequency = FREQUENCIES.get(d.update_frequency)
    if frequency:
        g.add(
            (
                node,
                DCTERMS.accrualPeriodicity,
                _concept(g, URIRef(f"{EU_AUTHORITY}frequency/{frequency}"), DCTERMS.Frequency),
            )
        )
    access = ACCESS_RIGHTS.get(d.security_level)
    if access:
        rights = _concept(g, URIRef(f"{EU_AUTHORITY}access-right/{access}"), DCTERMS.RightsStatement)
        g.add((node, DCTERMS.accessRights, rights))
    if d.licence:
        if d.licence.startswith(("http://", "https://")) and " " not in d.licence:
            licence: URIRef | BNode = URIRef(d.licence)
        else:
            licence = BNode(f"licence-{d.asset_id}")
            g.add((licence, RDFS.label, Literal(d.licence)))
        g.add((licence, RDF.type, DCTERMS.LicenseDocument))
        g.add((node, DCTERMS.license, licence))
    return node


JSONLD_CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "adms": str(ADMS),
    "hydra": str(HYDRA),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}


def catalog_serialize(graph: Graph, *, fmt: str) -> bytes:
    """``jsonld`` (compacted with the prefixes above, one object with ``@graph``) or ``ttl``."""
    if fmt == "ttl":
        return graph.serialize(format="turtle", encoding="utf-8")
    return graph.serialize(format="json-ld", context=JSONLD_CONTEXT, encoding="utf-8", ensure_ascii=False)
