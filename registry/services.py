"""Writes to the register. Each service owns its transaction and writes its audit row inside it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework_api_key.models import AbstractAPIKey

from common.audit import Actor, audit_record
from common.exceptions import BusinessRuleViolation, InvalidTransition, ValidationFailed
from common.hooks import hooks_fire
from registry.details import ValidDetails, details_validate
from registry.errors import (
    AssetNotEditable,
    AssetWrongState,
    FirmAlreadyExists,
    IdentifierAlreadyRegistered,
    SelfReviewForbidden,
)
from registry.identifiers import uscc_normalize, uscc_region
from registry.models import (
    Asset,
    AssetReview,
    AssetVersion,
    Bank,
    BankApiKey,
    Consent,
    Firm,
    FirmIndicator,
    Industry,
    User,
)
from registry.notifications import asset_decision_email_enqueue
from registry.transitions import ASSET_TRANSITIONS, EDITABLE_STATUSES
from registry.versioning import content_diff, content_hash, content_of


def _asset_snapshot(asset: Asset) -> dict[str, Any]:
    return {
        "kind": asset.kind,
        "title": asset.title,
        "status": asset.status,
        "version": asset.version,
        "details": asset.details,
    }


def _save_identifier_checked(asset: Asset, *, fields: list[str] | None = None) -> None:
    """Save, turning a clash on the registry-wide identifier into a clear 409."""
    try:
        with transaction.atomic():
            asset.save(update_fields=fields) if fields else asset.save()
    except IntegrityError:
        if asset.identifier and Asset.objects.filter(identifier=asset.identifier).exclude(pk=asset.pk).exists():
            kind, _sep, value = asset.identifier.partition(":")
            raise IdentifierAlreadyRegistered(
                _("%(kind)s %(value)s is already registered in the registry.") % {"kind": kind, "value": value},
                errors={"details": [_("This identifier is already registered.")]},
                extra={"identifier": value},
            ) from None
        raise


# --- firms, banks, people -------------------------------------------------------------------------


@transaction.atomic
def firm_create(
    *,
    uscc: str,
    name: str,
    industry_code: str,
    actor: Actor,
    legal_representative: str = "",
    founded_on: date | None = None,
    region_code: str | None = None,
) -> Firm:
    code = uscc_normalize(uscc)
    if Firm.objects.filter(uscc=code).exists():
        raise FirmAlreadyExists(_("A firm with USCC %(uscc)s is already registered.") % {"uscc": code})
    industry = Industry.objects.get(code=industry_code)
    firm = Firm(
        uscc=code,
        name=name,
        industry=industry,
        legal_representative=legal_representative,
        founded_on=founded_on,
        region_code=region_code or uscc_region(code),
    )
    firm.full_clean()
    firm.save()
    audit_record(
        actor=actor,
        action="firm.created",
        object_type="firm",
        object_id=firm.pk,
        after={"uscc": firm.uscc, "name": firm.name, "industry": industry.code},
    )
    return firm


REVIEWER_GROUP = "reviewers"
REVIEWER_APPS = ("registry", "valuation", "credit", "common")


def reviewer_group_get() -> Group:
    """The back-office group: may view every record of the service in the admin (decisions go through the
    review services and their four-eyes rules)."""
    group, _created = Group.objects.get_or_create(name=REVIEWER_GROUP)
    perms = Permission.objects.filter(content_type__app_label__in=REVIEWER_APPS, codename__startswith="view_")
    group.permissions.add(*perms)
    return group


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    actor: Actor,
    firm: Firm | None = None,
    bank: Bank | None = None,
    email: str = "",
) -> User:
    user = User(
        username=username,
        email=email,
        role=role,
        firm=firm,
        bank=bank,
        is_staff=role in (User.Role.REVIEWER, User.Role.PLATFORM_ADMIN),
        is_superuser=role == User.Role.PLATFORM_ADMIN,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    if user.is_staff and not user.is_superuser:
        user.groups.add(reviewer_group_get())
    audit_record(
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=user.pk,
        after={
            "username": username,
            "role": role,
            "firm": firm.uscc if firm else None,
            "bank": bank.code if bank else None,
        },
    )
    return user


FIRM_PROFILE_FIELDS = (
    "name",
    "legal_representative",
    "founded_on",
    "high_tech_certificate_number",
    "high_tech_certificate_expires_on",
    "specialised_level",
    "tech_sme_number",
    "industry_code",
)


def user_language_set(*, user: User, language: str) -> User:
    """Save a person's language (used for their pages after sign-in and for their e-mails)."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed(
            _("Unknown language %(language)s.") % {"language": language}, errors={"language": [_("Not a choice.")]}
        )
    if user.language != language:
        user.language = language
        User.objects.filter(pk=user.pk).update(language=language)
    return user


@transaction.atomic
def firm_update(*, firm: Firm, actor: Actor, **changes: Any) -> Firm:
    firm = Firm.objects.select_for_update().get(pk=firm.pk)
    unknown = set(changes) - set(FIRM_PROFILE_FIELDS)
    if unknown:
        raise BusinessRuleViolation(_("These fields cannot be changed: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    before = {k: getattr(firm, "industry_id" if k == "industry_code" else k) for k in changes}
    for key, value in changes.items():
        if key == "industry_code":
            firm.industry = Industry.objects.get(code=value)
        else:
            setattr(firm, key, value)
    firm.full_clean()
    firm.save()
    if set(changes) & {
        "high_tech_certificate_number",
        "high_tech_certificate_expires_on",
        "specialised_level",
        "tech_sme_number",
        "founded_on",
    }:
        # Credentials give bonus points and the founding date decides the stage: rescore the latest year.
        hooks_fire("firm_indicators_changed", year=timezone.localdate().year - 1)
    audit_record(
        actor=actor,
        action="firm.updated",
        object_type="firm",
        object_id=firm.pk,
        before=before,
        after={k: getattr(firm, "industry_id" if k == "industry_code" else k) for k in changes},
    )
    return firm


@transaction.atomic
def firm_indicator_upsert(*, firm: Firm, year: int, actor: Actor, values: dict[str, Any]) -> tuple[FirmIndicator, bool]:
    indicator = FirmIndicator.objects.select_for_update().filter(firm=firm, year=year).first()
    created = indicator is None
    before = None if created else {k: getattr(indicator, k) for k in values}
    indicator = indicator or FirmIndicator(firm=firm, year=year)
    for key, value in values.items():
        setattr(indicator, key, value)
    indicator.full_clean()
    indicator.save()
    # Innovation points of this year (and the next, whose growth reads this one) must be recomputed.
    hooks_fire("firm_indicators_changed", year=year)
    hooks_fire("firm_indicators_changed", year=year + 1)
    audit_record(
        actor=actor,
        action="firm_indicator.created" if created else "firm_indicator.updated",
        object_type="firm_indicator",
        object_id=f"{firm.uscc}:{year}",
        before=before,
        after=values,
    )
    return indicator, created


@transaction.atomic
def bank_create(*, code: str, name: str, actor: Actor) -> Bank:
    bank = Bank(code=code, name=name)
    bank.full_clean()
    bank.save()
    audit_record(
        actor=actor, action="bank.created", object_type="bank", object_id=bank.pk, after={"code": code, "name": name}
    )
    return bank


@transaction.atomic
def bank_api_key_create(
    *, bank: Bank, name: str, actor: Actor, expires_at: datetime | None = None
) -> tuple[BankApiKey, str]:
    """Create a key; the plain key is returned once and never stored."""
    api_key, key = BankApiKey.objects.create_key(bank=bank, name=name, expiry_date=expires_at)
    audit_record(
        actor=actor,
        action="api_key.created",
        object_type="api_key",
        object_id=api_key.prefix,
        after={"bank": bank.code, "name": name, "expires_at": expires_at},
    )
    return api_key, key


@transaction.atomic
def bank_api_key_revoke(*, api_key: AbstractAPIKey, actor: Actor) -> None:
    """Revoke at once (the library refuses revoked keys); revoking twice changes nothing."""
    if api_key.revoked:
        return
    api_key.revoked = True
    api_key.save(update_fields=["revoked"])
    audit_record(actor=actor, action="api_key.revoked", object_type="api_key", object_id=api_key.prefix)


# --- assets -----------------------------------------------------------------------------------------


def declared_value(details: dict[str, Any]) -> Decimal:
    """The larger of the declared cost and the highest yearly revenue: what the four-eyes threshold reads."""
    cost = sum((Decimal(str(v)) for v in (details.get("cost") or {}).values() if v is not None), Decimal(0))
    revenue = max((Decimal(str(r["amount"])) for r in details.get("revenue_history") or []), default=Decimal(0))
    return max(cost, revenue)


def _version_of(asset: Asset, *, change: str, user: User | None, previous: AssetVersion | None) -> AssetVersion:
    """The (unsaved) version row recording ``asset``'s current content."""
    content = content_of(title=asset.title, details=asset.details)
    before = content_of(title=previous.title, details=previous.details) if previous else None
    return AssetVersion(
        asset=asset,
        number=asset.version,
        title=asset.title,
        details=asset.details,
        identifier=asset.identifier,
        change=change,
        diff=content_diff(before, content),
        created_by=user,
    )


def _record_version(asset: Asset, *, change: str, user: User | None, previous: AssetVersion | None) -> AssetVersion:
    version = _version_of(asset, change=change, user=user, previous=previous)
    version.save(force_insert=True)
    return version


def _new_asset(*, firm: Firm, kind: str, title: str, valid: ValidDetails, user: User | None) -> Asset:
    return Asset(
        firm=firm,
        kind=kind,
        title=title,
        details=valid.details,
        identifier=valid.identifier,
        created_by=user,
        content_hash=content_hash(kind=kind, title=title, details=valid.details),
    )


def _audit_created(asset: Asset, *, actor: Actor, change: str) -> None:
    audit_record(
        actor=actor,
        action="asset.created",
        object_type="asset",
        object_id=asset.pk,
        after=_asset_snapshot(asset),
        data={"change": change},
    )


@transaction.atomic
def asset_create(
    *, firm: Firm, kind: str, title: str, details: Any, actor: Actor, user: User | None, change: str = "created"
) -> Asset:
    valid = details_validate(kind=kind, details=details)
    asset = _new_asset(firm=firm, kind=kind, title=title, valid=valid, user=user)
    _save_identifier_checked(asset)
    _record_version(asset, change=change, user=user, previous=None)
    _audit_created(asset, actor=actor, change=change)
    return asset


def assets_create_validated(
    *,
    firm: Firm,
    kind: str,
    items: list[tuple[str, ValidDetails]],
    actor: Actor,
    user: User | None,
    change: str = "created",
) -> list[Asset]:
    """Create many assets whose details ``details_validate`` already accepted, as ``asset_create`` would, with one
    INSERT for the assets and one for their first versions, then one audit event each, all or nothing (one
    savepoint). Raises ``IntegrityError`` if the database refuses any of them (an identifier registered by someone
    else meanwhile): the caller can then create them one by one with ``asset_create`` to learn which."""
    assets = [_new_asset(firm=firm, kind=kind, title=title, valid=valid, user=user) for title, valid in items]
    with transaction.atomic():
        Asset.objects.bulk_create(assets)
        AssetVersion.objects.bulk_create(
            [_version_of(asset, change=change, user=user, previous=None) for asset in assets]
        )
        for asset in assets:
            _audit_created(asset, actor=actor, change=change)
    return assets


@transaction.atomic
def asset_update(
    *, asset: Asset, actor: Actor, user: User | None = None, title: str | None = None, details: Any = None
) -> Asset:
    """Edit an asset. Every change is a new version; editing an approved asset sends the new version back to
    review while the approved version stays the one that credit decisions and valuations use."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if asset.status not in EDITABLE_STATUSES:
        raise AssetNotEditable(
            _("An asset that is %(status)s cannot be edited.") % {"status": asset.get_status_display()},
            extra={"current_status": asset.status},
        )
    before = _asset_snapshot(asset)
    new_title = asset.title if title is None else title
    new_details, new_identifier = asset.details, asset.identifier
    if details is not None:
        valid = details_validate(kind=asset.kind, details=details)
        new_details, new_identifier = valid.details, valid.identifier
    if (new_title, new_details) == (asset.title, asset.details):
        return asset  # nothing changed: no new version
    previous = asset.versions.filter(number=asset.version).first()
    asset.title, asset.details, asset.identifier = new_title, new_details, new_identifier
    asset.content_hash = content_hash(kind=asset.kind, title=new_title, details=new_details)
    asset.version += 1
    if asset.status == Asset.Status.APPROVED:
        asset.status = Asset.Status.DRAFT  # the new version needs its own review
    _save_identifier_checked(asset)
    _record_version(asset, change="edited", user=user, previous=previous)
    audit_record(
        actor=actor,
        action="asset.updated",
        object_type="asset",
        object_id=asset.pk,
        before=before,
        after=_asset_snapshot(asset),
    )
    return asset


def _asset_transition(asset: Asset, to: str, *, actor: Actor, extra: dict[str, Any] | None = None) -> None:
    if to not in ASSET_TRANSITIONS.get(asset.status, frozenset()):
        raise InvalidTransition(
            _("An asset cannot go from %(from)s to %(to)s.") % {"from": asset.status, "to": to},
            extra={"current_status": asset.status},
        )
    before = asset.status
    asset.status = to
    audit_record(
        actor=actor,
        action=f"asset.{to}",
        object_type="asset",
        object_id=asset.pk,
        before={"status": before},
        after={"status": to},
        data={"version": asset.version, **(extra or {})},
    )


@transaction.atomic
def asset_submit(*, asset: Asset, actor: Actor, user: User | None) -> Asset:
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    _asset_transition(asset, Asset.Status.SUBMITTED, actor=actor)
    asset.submitted_by, asset.submitted_at = user, timezone.now()
    asset.rejection_reason = ""
    asset.required_approvals = 2 if declared_value(asset.details) > settings.REVIEW_SECOND_REVIEWER_ABOVE else 1
    asset.save(
        update_fields=["status", "submitted_by", "submitted_at", "rejection_reason", "required_approvals", "updated_at"]
    )
    return asset


def _check_four_eyes(asset: Asset, reviewer: User) -> None:
    if reviewer.pk in (asset.submitted_by_id, asset.created_by_id):
        raise SelfReviewForbidden(_("You prepared this asset, so another reviewer must decide it."))
    if reviewer.firm_id is not None and reviewer.firm_id == asset.firm_id:
        raise SelfReviewForbidden(_("A reviewer cannot decide an asset of their own firm."))
    if AssetReview.objects.filter(asset=asset, version=asset.version, reviewer=reviewer).exists():
        raise SelfReviewForbidden(_("You already decided this version; a different reviewer must add theirs."))


@transaction.atomic
def asset_approve(*, asset: Asset, reviewer: User) -> Asset:
    """Record an approval; the asset is approved once ``required_approvals`` different reviewers agreed."""
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if asset.status != Asset.Status.SUBMITTED:
        raise InvalidTransition(
            _("Only a submitted asset can be approved; this one is %(s)s.") % {"s": asset.status},
            extra={"current_status": asset.status},
        )
    _check_four_eyes(asset, reviewer)
    AssetReview.objects.create(
        asset=asset, version=asset.version, reviewer=reviewer, decision=AssetReview.Decision.APPROVED
    )
    approvals = AssetReview.objects.filter(
        asset=asset, version=asset.version, decision=AssetReview.Decision.APPROVED
    ).count()
    if approvals < asset.required_approvals:
        audit_record(
            actor=reviewer.as_actor,
            action="asset.approval_recorded",
            object_type="asset",
            object_id=asset.pk,
            data={"version": asset.version, "approvals": approvals, "required": asset.required_approvals},
        )
        return asset
    _asset_transition(asset, Asset.Status.APPROVED, actor=reviewer.as_actor, extra={"approvals": approvals})
    previous_version = asset.approved_version
    asset.decided_by, asset.decided_at, asset.approved_version = reviewer, timezone.now(), asset.version
    asset.save(update_fields=["status", "decided_by", "decided_at", "approved_version", "updated_at"])
    asset_decision_email_enqueue(asset=asset, decision="approved")
    if previous_version is not None:
        # A new approved version replaces one that may back credit: revalue it (the first valuation of an asset
        # is the firm's own request).
        hooks_fire("asset_approved_version_changed", asset_id=asset.pk)
    return asset


@transaction.atomic
def asset_reject(*, asset: Asset, reviewer: User, reason: str) -> Asset:
    if not reason.strip():
        raise BusinessRuleViolation(
            _("A rejection needs a reason the firm can act on."), errors={"reason": [_("This field may not be blank.")]}
        )
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if asset.status != Asset.Status.SUBMITTED:
        raise InvalidTransition(
            _("Only a submitted asset can be rejected; this one is %(s)s.") % {"s": asset.status},
            extra={"current_status": asset.status},
        )
    _check_four_eyes(asset, reviewer)
    AssetReview.objects.create(
        asset=asset,
        version=asset.version,
        reviewer=reviewer,
        decision=AssetReview.Decision.REJECTED,
        reason=reason.strip(),
    )
    _asset_transition(asset, Asset.Status.REJECTED, actor=reviewer.as_actor, extra={"reason": reason})
    asset.decided_by, asset.decided_at, asset.rejection_reason = reviewer, timezone.now(), reason.strip()
    asset.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason", "updated_at"])
    asset_decision_email_enqueue(asset=asset, decision="rejected")
    return asset


@transaction.atomic
def asset_retire(*, asset: Asset, actor: Actor, reason: str = "") -> Asset:
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    # ``pledges`` is the reverse side of the credit app's Pledge: read by relation, so registry imports no credit.
    if asset.pledges.filter(status="active").exists():
        raise AssetWrongState(
            _("The asset backs an active credit line; the line must be closed first."),
            extra={"current_status": asset.status},
        )
    _asset_transition(asset, Asset.Status.RETIRED, actor=actor, extra={"reason": reason})
    asset.save(update_fields=["status", "updated_at"])
    return asset


# --- consent ----------------------------------------------------------------------------------------


@transaction.atomic
def consent_grant(*, firm: Firm, bank: Bank, expires_at: datetime, scopes: list[str], user: User) -> Consent:
    """Grant ``bank`` consent; an earlier unrevoked consent to the same bank is superseded (revoked now)."""
    now = timezone.now()
    if expires_at <= now:
        raise BusinessRuleViolation(
            _("The expiry must be in the future."), errors={"expires_at": [_("Must be in the future.")]}
        )
    previous = Consent.objects.select_for_update().filter(firm=firm, bank=bank, revoked_at__isnull=True).first()
    if previous is not None:
        previous.revoked_at, previous.revoked_by = now, user
        previous.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        audit_record(
            actor=user.as_actor,
            action="consent.superseded",
            object_type="consent",
            object_id=previous.pk,
            data={"bank": bank.code},
        )
    consent = Consent.objects.create(
        firm=firm, bank=bank, expires_at=expires_at, scopes=sorted(set(scopes)), granted_by=user
    )
    audit_record(
        actor=user.as_actor,
        action="consent.granted",
        object_type="consent",
        object_id=consent.pk,
        after={"firm": firm.uscc, "bank": bank.code, "scopes": consent.scopes, "expires_at": expires_at},
    )
    return consent


@transaction.atomic
def consent_revoke(*, consent: Consent, user: User) -> Consent:
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.revoked_at is not None:
        return consent  # revoking twice changes nothing
    consent.revoked_at, consent.revoked_by = timezone.now(), user
    consent.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    audit_record(
        actor=user.as_actor,
        action="consent.revoked",
        object_type="consent",
        object_id=consent.pk,
        data={"firm": consent.firm.uscc, "bank": consent.bank.code},
    )
    hooks_fire("consent_revoked", consent_id=consent.pk)
    return consent
