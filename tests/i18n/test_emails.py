"""Review decisions reach the firm's people by e-mail, each in their saved language, only after the decision has
committed, once per person even when the task runs again; a failed send is logged and never fails the review."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction

from registry import tasks as registry_tasks
from registry.models import Asset, EmailSent
from registry.services import asset_approve, asset_reject
from tests.factories.registry import AssetFactory, FirmFactory, ReviewerFactory, UserFactory
from tests.factories.valuation import ValuationFactory
from valuation import tasks as valuation_tasks
from valuation.models import Valuation
from valuation.services import valuation_approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm_people():  # type: ignore[no-untyped-def]
    """A firm whose preparer reads Chinese and whose colleague reads English; two others get no e-mail."""
    firm = FirmFactory(name="武汉光谷芯光电子科技有限公司")
    zh = UserFactory(firm=firm, email="zh@example.cn", language="zh-hans", first_name="Li")
    en = UserFactory(firm=firm, email="en@example.com", language="en", role="firm_member")
    UserFactory(firm=firm, email="", language="en")  # no address
    UserFactory(firm=firm, email="gone@example.com", is_active=False)  # left the firm
    UserFactory(email="other@example.com")  # another firm
    return firm, zh, en


def _submitted(firm, preparer, **kwargs) -> Asset:  # type: ignore[no-untyped-def]
    return AssetFactory(
        firm=firm,
        title="光学镜头专利",
        status=Asset.Status.SUBMITTED,
        submitted_by=preparer,
        created_by=preparer,
        required_approvals=kwargs.pop("required_approvals", 1),
        **kwargs,
    )


def _by_recipient() -> dict[str, mail.EmailMessage]:
    return {message.to[0]: message for message in mail.outbox}


def test_an_approval_mails_each_person_in_their_language_after_commit(  # type: ignore[no-untyped-def]
    firm_people, django_capture_on_commit_callbacks
) -> None:
    firm, zh, _en = firm_people
    asset = _submitted(firm, zh)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        asset_approve(asset=asset, reviewer=ReviewerFactory())
    assert mail.outbox == []  # nothing leaves inside the transaction
    for callback in callbacks:
        callback()
    sent = _by_recipient()
    assert sorted(sent) == ["en@example.com", "zh@example.cn"]
    assert sent["zh@example.cn"].subject == "资产审核通过：光学镜头专利"
    assert "武汉光谷芯光电子科技有限公司的专利“光学镜头专利”（第 1 版）已通过审核" in sent["zh@example.cn"].body
    assert sent["en@example.com"].subject == "Asset approved: 光学镜头专利"
    assert "has passed review and is now approved" in sent["en@example.com"].body
    assert 'The patent "光学镜头专利" of 武汉光谷芯光电子科技有限公司 (version 1)' in sent["en@example.com"].body
    assert all(message.from_email for message in mail.outbox)


def test_a_rejection_carries_the_reason_in_each_language(  # type: ignore[no-untyped-def]
    firm_people, django_capture_on_commit_callbacks
) -> None:
    firm, zh, _en = firm_people
    asset = _submitted(firm, zh)
    with django_capture_on_commit_callbacks(execute=True):
        asset_reject(asset=asset, reviewer=ReviewerFactory(), reason="缺少专利证书 & 年费缴纳凭证")
    sent = _by_recipient()
    assert sent["zh@example.cn"].subject == "资产未通过审核：光学镜头专利"
    assert "审核员给出的理由：\n缺少专利证书 & 年费缴纳凭证" in sent["zh@example.cn"].body  # plain text, not escaped
    assert sent["en@example.com"].subject == "Asset not approved: 光学镜头专利"
    assert "Reason given by the reviewer:\n缺少专利证书 & 年费缴纳凭证" in sent["en@example.com"].body


def test_a_retried_task_does_not_send_twice(firm_people, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    firm, zh, _en = firm_people
    asset = _submitted(firm, zh)
    with django_capture_on_commit_callbacks(execute=True):
        asset_approve(asset=asset, reviewer=ReviewerFactory())
    assert len(mail.outbox) == 2
    registry_tasks.asset_decision_email.delay(asset_id=asset.pk, version=1, decision="approved")  # redelivered
    assert len(mail.outbox) == 2
    assert EmailSent.objects.filter(key=f"asset.approved:{asset.pk}:v1").count() == 2


def test_no_mail_for_a_first_of_two_approvals_or_a_rolled_back_decision(  # type: ignore[no-untyped-def]
    firm_people, django_capture_on_commit_callbacks
) -> None:
    firm, zh, _en = firm_people
    asset = _submitted(firm, zh, required_approvals=2)
    with django_capture_on_commit_callbacks(execute=True):
        asset_approve(asset=asset, reviewer=ReviewerFactory())
    assert mail.outbox == []

    other = _submitted(firm, zh)

    def decide_then_fail() -> None:
        with transaction.atomic():
            asset_approve(asset=other, reviewer=ReviewerFactory())
            raise RuntimeError("the caller's transaction fails after the decision")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        decide_then_fail()
    assert callbacks == []
    assert mail.outbox == []


def test_a_failed_send_is_logged_not_raised_and_can_be_retried(  # type: ignore[no-untyped-def]
    firm_people, client_for, monkeypatch, caplog, django_capture_on_commit_callbacks
) -> None:
    firm, zh, _en = firm_people
    asset = _submitted(firm, zh)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("registry.notifications.send_mail", broken)
    with caplog.at_level(logging.ERROR, logger="softasset.email"), django_capture_on_commit_callbacks(execute=True):
        response = client_for(ReviewerFactory()).post(f"/api/v1/review/assets/{asset.pk}/approve/")
    assert (response.status_code, response.json()["status"]) == (200, "approved")
    assert "could not be sent" in caplog.text
    assert not EmailSent.objects.exists()  # so a later run may send them

    monkeypatch.undo()
    registry_tasks.asset_decision_email.delay(asset_id=asset.pk, version=1, decision="approved")
    assert len(mail.outbox) == 2


def test_an_approved_valuation_mails_the_firm_in_each_language(  # type: ignore[no-untyped-def]
    firm_people, django_capture_on_commit_callbacks
) -> None:
    firm, zh, _en = firm_people
    asset = AssetFactory(firm=firm, title="光学镜头专利")
    valuation = ValuationFactory(
        asset=asset,
        status=Valuation.Status.PENDING_REVIEW,
        requested_by=zh,
        value=Decimal("12345678.90"),
        low=Decimal("10000000.00"),
        high=Decimal("15000000.50"),
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        valuation_approve(valuation=valuation, reviewer=ReviewerFactory())
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    sent = _by_recipient()
    assert sorted(sent) == ["en@example.com", "zh@example.cn"]
    assert sent["zh@example.cn"].subject == "估值审核通过：光学镜头专利"
    assert "评估价值：12,345,678.90 CNY" in sent["zh@example.cn"].body
    assert "估值区间（P10 至 P90）：10,000,000.00 至 15,000,000.50 CNY" in sent["zh@example.cn"].body
    assert sent["en@example.com"].subject == "Valuation approved: 光学镜头专利"
    assert "Appraised value: 12,345,678.90 CNY" in sent["en@example.com"].body
    assert "估值方法：许可费节省法" in sent["zh@example.cn"].body
    assert "Method: Relief from royalty" in sent["en@example.com"].body

    valuation_tasks.valuation_approved_email.delay(valuation_id=valuation.pk)  # a retry sends nothing more
    assert len(mail.outbox) == 2
