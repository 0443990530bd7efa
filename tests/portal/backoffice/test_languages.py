"""Every back-office page renders in Chinese (the default) and in English."""

from __future__ import annotations

import pytest

from valuation.services import parameter_set_active

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(submit_asset, pending_valuation) -> dict[str, tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """url -> (a Chinese text, the English text it translates)."""
    asset, valuation, params = submit_asset(), pending_valuation(), parameter_set_active()
    return {
        "/admin/": ("资产审核队列", "Asset review queue"),
        "/admin/registry/asset/": ("项待审核", "awaiting review"),
        f"/admin/registry/asset/{asset.pk}/change/": ("审核通过", "Approve"),
        f"/admin/registry/asset/{asset.pk}/reject/": ("您将驳回", "You are rejecting"),
        "/admin/valuation/valuation/": ("项待审核", "awaiting review"),
        f"/admin/valuation/valuation/{valuation.pk}/change/": ("驳回", "Reject"),
        f"/admin/valuation/parameterset/{params.pk}/change/": ("版本历史", "Version history"),
        "/admin/province/": ("全省数据看板", "Province dashboard"),
        "/admin/common/auditevent/": ("审计", "audit"),
    }


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_back_office_pages_render_in_both_languages(signed_in, reviewer_a, pages, language):
    client = signed_in(reviewer_a, language=language)
    for url, (chinese, english) in pages.items():
        r = client.get(url)
        assert r.status_code == 200, url
        assert f'lang="{language}"' in r.text, url
        if language == "en":
            assert english in r.text, url
        else:
            assert chinese in r.text, url
            if url != "/admin/common/auditevent/":
                assert english not in r.text, url


def test_the_parameter_set_new_version_page_renders_in_both_languages(admin_client):
    params = parameter_set_active()
    url = f"/admin/valuation/parameterset/{params.pk}/new-version/"
    assert "保存为新版本" in admin_client.get(url).text
    assert "Save as a new version" in admin_client.get(url, headers={"accept-language": "en"}).text
