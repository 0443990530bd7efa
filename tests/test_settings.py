"""Settings are driven by the environment; production refuses unsafe configurations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"


def _check(settings_module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
    clean.update({"DJANGO_SETTINGS_MODULE": settings_module, **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_embedded_default_is_sqlite_and_in_process_jobs_and_says_so():
    result = _check("config.settings.local")
    assert result.returncode == 0, result.stderr
    assert "Database: sqlite3" in result.stderr
    assert "Background jobs: run in-process" in result.stderr


def test_a_broker_url_switches_to_celery_workers():
    result = _check("config.settings.local", REDIS_URL="redis://127.0.0.1:6399/0")
    assert result.returncode == 0, result.stderr
    assert "Background jobs: Celery broker redis://127.0.0.1:6399/0" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALLOWED_HOSTS": "example.org", "REDIS_URL": "redis://r:6379/0"}, "SECRET_KEY must be set"),
        (
            {"SECRET_KEY": "short", "ALLOWED_HOSTS": "example.org", "REDIS_URL": "redis://r:6379/0"},
            "SECRET_KEY must be set",
        ),
        (  # Django's generated development keys
            {
                "SECRET_KEY": "django-insecure-" + GOOD_KEY,
                "ALLOWED_HOSTS": "example.org",
                "REDIS_URL": "redis://r:6379/0",
            },
            "SECRET_KEY must be set",
        ),
        (  # long but not random
            {"SECRET_KEY": "ab" * 40, "ALLOWED_HOSTS": "example.org", "REDIS_URL": "redis://r:6379/0"},
            "SECRET_KEY must be set",
        ),
        (
            {"SECRET_KEY": GOOD_KEY, "DEBUG": "true", "ALLOWED_HOSTS": "example.org", "REDIS_URL": "redis://r:6379/0"},
            "DEBUG must be off",
        ),
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "example.org"}, "Production needs a Celery broker"),
    ],
)
def test_production_refuses_unsafe_settings(env, message):
    result = _check("config.settings.production", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_passes_the_deploy_checklist():
    env = {
        "SECRET_KEY": GOOD_KEY,
        "ALLOWED_HOSTS": "example.org",
        "REDIS_URL": "redis://r:6379/0",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
    }
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_time_zone_and_languages(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


def test_celery_is_json_only_acks_late_prefetch_one_and_keeps_no_results():
    from config.celery import app

    conf = app.conf
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_acks_late is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert conf.result_backend is None


def test_gunicorn_config_reads_its_sizes_from_the_environment(monkeypatch):
    """The Dockerfile starts gunicorn with config/gunicorn_conf.py; its sizes come from the environment."""
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "config" / "gunicorn_conf.py"
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    monkeypatch.setenv("PORT", "8100")
    conf = runpy.run_path(str(path))
    assert (conf["worker_class"], conf["workers"], conf["threads"], conf["bind"]) == ("gthread", 3, 6, "0.0.0.0:8100")
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.setenv("GUNICORN_THREADS", "")
    conf = runpy.run_path(str(path))
    assert conf["workers"] >= 2
    assert conf["threads"] == 4
    assert conf["max_requests"] > 0
    assert conf["max_requests_jitter"] > 0


def _database_options(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_RANDOM_PAGE_COST"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", **env})
    code = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default']['OPTIONS']))"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_connections_tell_the_planner_random_reads_are_cheap():
    url = "postgres://postgres@127.0.0.1:5432/anything"
    assert _database_options(DATABASE_URL=url)["options"] == "-c random_page_cost=1.1"
    assert _database_options(DATABASE_URL=url, DATABASE_RANDOM_PAGE_COST="2")["options"] == "-c random_page_cost=2.0"
    assert "options" not in _database_options(DATABASE_URL=url, DATABASE_RANDOM_PAGE_COST="")


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL only (runs in the service pass)"
)
@pytest.mark.django_db
def test_the_connection_really_carries_the_planner_setting():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"
