"""The audit trail's hash chain, `verify_audit`, the append-only triggers and the actor constraint."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from common.audit import Actor, audit_record, system_actor
from common.audit_chain import GENESIS, canonical, chain_hash, chain_verify, event_fields
from common.models import AppendOnlyError, AuditEvent

IS_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL only (runs in the service pass)")
TABLE = AuditEvent._meta.db_table
ACTOR = system_actor("tests")


def record(n: int, **extra) -> AuditEvent:  # type: ignore[no-untyped-def]
    return audit_record(actor=ACTOR, action="thing.changed", object_type="thing", object_id=n, after={"n": n}, **extra)


def events(count: int) -> list[AuditEvent]:
    return [record(n) for n in range(count)]


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue().strip()


def verify_broken() -> str:
    with pytest.raises(CommandError) as info:
        verify()
    assert info.value.returncode == 1
    return str(info.value)


def raw(sql: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- the chain -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_event_carries_the_hash_of_the_one_before():
    written = events(4)

    stored = list(AuditEvent.objects.filter(pk__in=[e.pk for e in written]).order_by("id"))
    assert stored[0].prev_hash == GENESIS  # the test database starts with an empty trail
    for before, event in pairwise(stored):
        assert event.prev_hash == before.hash
    for event in stored:
        assert len(event.hash) == 64
        assert event.hash == chain_hash(event.prev_hash, event_fields(event))  # recomputed from what the DB gives
    assert len({e.hash for e in stored}) == 4
    assert [e.hash for e in written] == [e.hash for e in stored]


@pytest.mark.django_db
def test_the_hashed_time_is_the_stored_time_in_utc_with_microseconds():
    event = record(1)
    stored = AuditEvent.objects.get(pk=event.pk)

    assert stored.occurred_at == event.occurred_at
    hashed = json.loads(canonical(event_fields(stored)))["occurred_at"]
    assert hashed == stored.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    assert hashed.endswith("+00:00")


def test_the_canonical_form_sorts_keys_and_normalises_numbers():
    fields = {
        "occurred_at": datetime(2026, 12, 1, 5, 57, tzinfo=UTC),
        "actor_type": "system",
        "actor_id": "x",
        "actor_label": "system:x",
        "action": "a",
        "object_type": "t",
        "object_id": "1",
        "before": None,
        "after": {"b": 1.0, "a": 1e20},
        "data": {},
        "request_id": "",
        "ip": "",
        "result": "success",
    }
    text = canonical(fields)
    assert text.startswith('{"action":"a","actor_id":"x","actor_label":"system:x","actor_type":"system",')
    assert '"after":{"a":1E+20,"b":1}' in text
    assert '"occurred_at":"2026-12-01T05:57:00.000000+00:00"' in text
    # What jsonb may give back for the same values hashes the same.
    assert canonical({**fields, "after": {"a": 100000000000000000000, "b": 1}}) == text
    assert canonical({**fields, "after": {"a": 1e20, "b": 2}}) != text


@pytest.mark.django_db
def test_json_values_survive_the_database_round_trip():
    awkward = {
        "z": [1, 1.0, 0.1, -2.5e-9, 1e20, 2**70, True, None, '中文 \u00e9 "quoted"'],
        "a": {"money": Decimal("1234.50"), "nested": {"y": 2, "x": 1}},
        "10": "numeric key",
    }
    event = audit_record(
        actor=ACTOR,
        action="thing.changed",
        object_type="thing",
        object_id=1,
        before=awkward,
        after=awkward,
        data=awkward,
    )

    stored = AuditEvent.objects.get(pk=event.pk)

    assert stored.data["a"]["money"] == "1234.50"  # Decimals are strings (DjangoJSONEncoder)
    assert chain_hash(stored.prev_hash, event_fields(stored)) == stored.hash
    assert chain_verify().intact


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_audit_record_outside_a_transaction_still_links():
    assert not connection.in_atomic_block
    first, second = record(1), record(2)
    assert second.prev_hash == first.hash
    assert chain_verify().intact


@pytest.mark.django_db
def test_result_defaults_to_success_and_is_hashed():
    ok = record(1)
    refused = record(2, result=AuditEvent.Result.REFUSED)

    assert (ok.result, AuditEvent.objects.get(pk=refused.pk).result) == ("success", "refused")
    assert refused.hash != chain_hash(refused.prev_hash, {**event_fields(refused), "result": "success"})


# --- verify_audit ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_audit_reports_an_intact_chain_and_its_head():
    last = events(5)[-1]
    assert verify() == f"OK: 5 events, chain intact, head {last.hash}"


@pytest.mark.django_db
def test_verify_audit_reads_in_chunks():
    last = events(7)[-1]
    out = StringIO()
    call_command("verify_audit", "--chunk-size", "2", stdout=out)
    assert out.getvalue().strip() == f"OK: 7 events, chain intact, head {last.hash}"


@pytest.mark.django_db
def test_verify_audit_on_an_empty_trail():
    assert verify() == "OK: 0 events, chain intact, head (none)"


@pytest.mark.django_db
def test_an_edited_event_is_named_by_its_hash(audit_triggers_off):
    written = events(5)
    with audit_triggers_off():
        raw(f"UPDATE {TABLE} SET after = %s WHERE id = %s", ['{"n": 999}', written[2].pk])  # noqa: S608

    message = verify_broken()
    assert message.startswith(f"BROKEN at event {written[2].pk}: hash mismatch")


@pytest.mark.django_db
def test_an_edited_actor_is_named_too(audit_triggers_off):
    written = events(3)
    with audit_triggers_off():
        raw(f"UPDATE {TABLE} SET actor_label = %s WHERE id = %s", ["user:someone-else", written[1].pk])  # noqa: S608

    assert verify_broken().startswith(f"BROKEN at event {written[1].pk}: hash mismatch")


@pytest.mark.django_db
def test_an_edited_and_rehashed_event_breaks_the_link_to_the_next(audit_triggers_off):
    written = events(5)
    target = AuditEvent.objects.get(pk=written[2].pk)
    forged = chain_hash(target.prev_hash, {**event_fields(target), "after": {"n": 999}})
    with audit_triggers_off():
        raw(f"UPDATE {TABLE} SET after = %s, hash = %s WHERE id = %s", ['{"n": 999}', forged, target.pk])  # noqa: S608

    message = verify_broken()
    assert message == (
        f"BROKEN at event {written[3].pk}: prev_hash does not match the hash of event {written[2].pk}, "
        "the event before it"
    )


@pytest.mark.django_db
def test_a_deleted_event_is_a_gap_named_at_the_event_after_it(audit_triggers_off):
    written = events(5)
    with audit_triggers_off():
        raw(f"DELETE FROM {TABLE} WHERE id = %s", [written[2].pk])  # noqa: S608

    message = verify_broken()
    assert message.startswith(
        f"BROKEN at event {written[3].pk}: gap: prev_hash does not match the hash of event {written[1].pk}"
    )


@pytest.mark.django_db
def test_a_deleted_first_event_is_found(audit_triggers_off):
    written = events(3)
    with audit_triggers_off():
        raw(f"DELETE FROM {TABLE} WHERE id = %s", [written[0].pk])  # noqa: S608

    assert verify_broken().startswith(f"BROKEN at event {written[1].pk}: gap: it is the first event")


@pytest.mark.django_db
def test_only_the_first_broken_link_is_named(audit_triggers_off):
    written = events(6)
    with audit_triggers_off():
        raw(f"UPDATE {TABLE} SET object_id = 'x' WHERE id IN (%s, %s)", [written[1].pk, written[4].pk])  # noqa: S608

    assert verify_broken().startswith(f"BROKEN at event {written[1].pk}: ")


@postgres_only
@pytest.mark.django_db
def test_tampering_under_replication_role_is_detected():
    """A superuser can switch the triggers off for the session; the chain still shows the edit."""
    written = events(3)
    raw("SET LOCAL session_replication_role = replica")
    raw(f"UPDATE {TABLE} SET data = '{{\"forged\": true}}'::jsonb WHERE id = %s", [written[1].pk])  # noqa: S608
    raw("SET LOCAL session_replication_role = DEFAULT")

    assert verify_broken().startswith(f"BROKEN at event {written[1].pk}: hash mismatch")


# --- the database refuses changes --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET action = 'x'",  # noqa: S608
        f"UPDATE {TABLE} SET hash = ''",  # noqa: S608
        f"DELETE FROM {TABLE}",  # noqa: S608
    ],
)
def test_the_database_refuses_update_and_delete(sql):
    events(2)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(sql)

    assert AuditEvent.objects.count() == 2
    assert chain_verify().intact


@pytest.mark.django_db
def test_queryset_update_and_delete_are_refused_by_the_database():
    event = record(1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.get(pk=event.pk).action == "thing.changed"


@pytest.mark.django_db
def test_the_model_refuses_too():
    event = record(1)
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError, match="audit_record"):
        AuditEvent(
            actor_type="system", actor_id="x", actor_label="x", action="a", object_type="t", object_id="1"
        ).save()


@postgres_only
@pytest.mark.django_db
def test_postgres_refuses_truncate():
    events(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flush_in_the_suite_empties_the_trail_and_leaves_the_triggers_on():
    """`flush` cleans up after tests that commit; in the suite it may lift the triggers, for its own transaction."""
    events(2)

    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)

    assert AuditEvent.objects.count() == 0
    record(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"DELETE FROM {TABLE}")  # noqa: S608
    assert AuditEvent.objects.count() == 1


# --- the actor is always recorded --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "action"),
    [
        (Actor(type="", id="x", label="x"), "thing.changed"),
        (Actor(type="system", id="", label="system:"), "thing.changed"),
        (system_actor("tests"), ""),
    ],
)
def test_an_event_without_actor_or_action_is_refused(actor, action):
    with pytest.raises(IntegrityError), transaction.atomic():
        audit_record(actor=actor, action=action, object_type="thing", object_id=1)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_raw_inserts_without_an_actor_are_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        raw(
            f"INSERT INTO {TABLE} (occurred_at, actor_type, actor_id, actor_label, action, object_type, object_id, "  # noqa: S608
            "data, request_id, ip, result, prev_hash, hash) "
            "VALUES (%s, 'system', '', '', 'a', 't', '1', '{}', '', '', 'success', '', 'h')",
            [timezone.now()],
        )


# --- concurrent writers ------------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_make_one_unbroken_chain():
    threads_count, per_thread = 8, 25
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(per_thread):
                if n % 5 == 0:
                    record(i * 1000 + n)  # autocommit: audit_record opens its own transaction
                else:
                    with transaction.atomic():
                        record(i * 1000 + n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    report = chain_verify()
    assert (report.intact, report.count) == (True, threads_count * per_thread)
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(set(prev_hashes)) == len(prev_hashes)  # no two events claim the same predecessor: no fork


# --- the admin -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_result_and_hash_and_finds_an_event_by_its_hash(admin_client):
    refused = record(1, result=AuditEvent.Result.REFUSED)
    other = record(2)
    listing = "/admin/common/auditevent/"

    def found(**params: object) -> list[int]:
        response = admin_client.get(listing, params)
        assert response.status_code == 200
        return [e.pk for e in response.context["cl"].result_list]

    assert found(q=refused.hash) == [refused.pk]
    assert found(q="thing.changed") == [other.pk, refused.pk]
    assert found(result__exact="refused") == [refused.pk]
    assert found(occurred_at__year=timezone.localtime(refused.occurred_at).year) == [other.pk, refused.pk]
    page = admin_client.get(listing).content.decode()
    assert refused.hash[:12] in page
    assert other.hash[:12] in page


@pytest.mark.django_db
def test_the_admin_is_read_only(admin_client):
    event = record(1)

    detail = admin_client.get(f"/admin/common/auditevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert event.hash in detail.content.decode()
    assert admin_client.get("/admin/common/auditevent/add/").status_code == 403
    assert admin_client.post(f"/admin/common/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"/admin/common/auditevent/{event.pk}/change/", {"action": "forged"})
    assert AuditEvent.objects.get(pk=event.pk).action == "thing.changed"
