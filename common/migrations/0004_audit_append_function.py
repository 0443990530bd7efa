"""PostgreSQL: one function appends an audit event to the hash chain in one statement (common.audit._append_postgresql).

It takes the chain's advisory lock (held until the calling transaction ends), then reads the newest event's hash.
Being VOLATILE, each statement inside it takes a fresh snapshot under READ COMMITTED, so the head it reads is the
one committed by the writer it waited for, even though the calling statement's snapshot predates the lock. It
hashes ``prev_hash + canonical`` (the canonical text is built by Python, common.audit_chain.canonical, the only
serialisation that is hashed) and inserts the row. The chain format is unchanged: verify_audit recomputes every
hash in Python. SQLite keeps the Python path (no function)."""

from django.db import migrations

FUNCTION = """
    CREATE OR REPLACE FUNCTION common_auditevent_append(
        p_lock_key bigint,
        p_canonical text,
        p_occurred_at timestamptz,
        p_actor_type varchar,
        p_actor_id varchar,
        p_actor_label varchar,
        p_action varchar,
        p_object_type varchar,
        p_object_id varchar,
        p_before jsonb,
        p_after jsonb,
        p_data jsonb,
        p_request_id varchar,
        p_ip varchar,
        p_result varchar
    ) RETURNS TABLE (new_id bigint, new_prev_hash varchar, new_hash varchar)
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        v_prev varchar;
        v_hash varchar;
        v_id bigint;
    BEGIN
        PERFORM pg_advisory_xact_lock(p_lock_key);
        SELECT e.hash INTO v_prev FROM common_auditevent e ORDER BY e.id DESC LIMIT 1;
        v_prev := coalesce(v_prev, '');
        v_hash := encode(sha256(convert_to(v_prev || p_canonical, 'UTF8')), 'hex');
        INSERT INTO common_auditevent (
            occurred_at, actor_type, actor_id, actor_label, action, object_type, object_id,
            before, after, data, request_id, ip, result, prev_hash, hash
        ) VALUES (
            p_occurred_at, p_actor_type, p_actor_id, p_actor_label, p_action, p_object_type, p_object_id,
            p_before, p_after, p_data, p_request_id, p_ip, p_result, v_prev, v_hash
        ) RETURNING id INTO v_id;
        RETURN QUERY SELECT v_id, v_prev, v_hash;
    END
    $$
"""
DROP = "DROP FUNCTION IF EXISTS common_auditevent_append(bigint, text, timestamptz, varchar, varchar, varchar, varchar, varchar, varchar, jsonb, jsonb, jsonb, varchar, varchar, varchar)"  # noqa: E501


def function_install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def function_remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0003_idempotency_claims"),
    ]

    operations = [
        migrations.RunPython(function_install, function_remove, elidable=False),
    ]
