"""Hardening: the security headers and cookies production sends, the Content-Security-Policy of HTML pages, CSRF
on the back office login, and no secret in the repository.

The deploy checklist (`check --deploy --fail-level WARNING`) and the refusal to start without a real SECRET_KEY
are in tests/test_settings.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from common.middleware import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"

# Runs in a fresh interpreter under config.settings.production (its import-time checks included): fetches an
# API answer, the admin login page and the health page over https through Django's test client and prints
# their headers and cookies. No database or cache is touched on these paths (an anonymous API call is refused
# before any throttle counts it).
PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
# The hashed-static manifest only exists after collectstatic (done in the image): plain static storage here.
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
out = {}
for name, path in (("api", "/api/v1/assets/"), ("admin", "/admin/login/"), ("health", "/health/")):
    r = Client(HTTP_HOST="example.org").get(path, secure=True)
    out[name] = {
        "status": r.status_code,
        "headers": {k.lower(): v for k, v in r.headers.items()},
        "cookies": {n: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"]), "samesite": c["samesite"]}
                    for n, c in r.cookies.items()},
    }
plain = Client(HTTP_HOST="example.org").get("/api/v1/assets/")
out["plain_http"] = {"status": plain.status_code, "location": plain.headers.get("Location", "")}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def production() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "MEDIA_ROOT"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="example.org",
        REDIS_URL="redis://127.0.0.1:1/0",  # required to start; never reached by the probe
    )
    env.pop("DJANGO_BEHIND_HTTPS", None)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("page", ["api", "admin", "health"])
def test_production_security_headers(production, page):
    answer = production[page]
    headers = answer["headers"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    hsts = headers["strict-transport-security"]
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains; preload", hsts)
    assert int(hsts.split(";")[0].split("=")[1]) >= 31536000


def test_production_api_answer_is_problem_details_and_html_has_a_csp(production):
    assert production["api"]["status"] == 401
    assert production["api"]["headers"]["content-type"].startswith("application/problem+json")
    assert "content-security-policy" not in production["api"]["headers"]  # JSON: nothing to execute
    assert production["admin"]["status"] == 200
    assert production["admin"]["headers"]["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_production_cookies_are_secure_and_http_only(production):
    cookies = production["admin"]["cookies"]
    assert "csrftoken" in cookies  # the login form sets it
    for name, attributes in cookies.items():
        assert attributes["secure"], name
        assert attributes["httponly"], name
        assert attributes["samesite"] in ("Lax", "Strict"), name


def test_production_redirects_plain_http(production):
    assert production["plain_http"]["status"] == 301
    assert production["plain_http"]["location"].startswith("https://example.org/")


# --- Content-Security-Policy, in-process -------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc=\"([^\"]+)\"", re.IGNORECASE)


def test_the_policy_forbids_inline_and_foreign_scripts():
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/admin/login/", "/api/docs/"])
def test_html_pages_carry_the_policy_and_no_inline_script(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = response.content.decode()
    assert INLINE_SCRIPT.findall(html) == []
    for src in SCRIPT_SRC.findall(html):
        assert src.startswith("/"), src  # this origin only
        assert not src.startswith("//"), src


@pytest.mark.django_db
def test_swagger_ui_loads_everything_from_this_origin(client):
    html = client.get("/api/docs/").content.decode()
    sources = [src.replace("&amp;", "&") for src in SCRIPT_SRC.findall(html)]
    assert len(sources) == 3  # the bundle, the preset and the start-up script
    *assets, start_up_url = sources
    stylesheets = re.findall(r"<link[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]+)\"", html)
    assert stylesheets
    for url in assets + stylesheets:  # sidecar files among this project's static files (whitenoise serves them)
        assert url.startswith("/static/"), url
        assert finders.find(url.split("/static/", 1)[1]) is not None, url
    response = client.get(start_up_url)
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "/api/schema/" in response.content.decode()  # the page asks this origin for the OpenAPI document


@pytest.mark.django_db
def test_json_answers_carry_no_policy(client):
    assert "Content-Security-Policy" not in client.get("/api/v1/assets/")


# --- CSRF --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_login_form_needs_its_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post("/admin/login/", {"username": "x", "password": "y"})
    assert refused.status_code == 403

    page = browser.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    accepted = browser.post("/admin/login/", {"username": "x", "password": "y", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 200  # the form again, with "wrong credentials": CSRF passed


# --- no secret in the repository ---------------------------------------------------------------------------------

# Built from pieces so that this file does not match its own patterns.
PRIVATE_KEY = re.compile("-----BEGIN " + r"[A-Z ]*PRIVATE KEY" + "-----")
AWS_KEY_ID = re.compile(r"\b(?:AK" + r"IA|AS" + r"IA)[0-9A-Z]{16}\b")
AWS_SECRET = re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*[\"']?[A-Za-z0-9/+=]{40}\b")
# Python: a quoted literal assigned to the key. Anything else (.env, shell, Dockerfile, YAML): KEY=value or
# KEY: value, where the value is not empty and not a ${VARIABLE}.
SECRET_KEY_PY = re.compile(r"""\bSECRET_KEY[ \t]*=[ \t]*[rbu]?["']([^"']+)["']""")
SECRET_KEY_ENV = re.compile(
    r"""^[ \t]*(?:export[ \t]+|ENV[ \t]+)?SECRET_KEY[ \t]*[=:][ \t]*["']?([^\s"'$#][^\s"']*)""", re.M
)
PASSWORD_LITERAL = re.compile(r"""(?i)\b\w*passw(?:or)?d\w*["']?\s*[=:]\s*["']([^"'\s]{4,})["']""")

# Literal keys that are allowed, and why.
SECRET_KEY_ALLOWED = {
    ("config/settings/test.py", "test-only-secret-key-not-used-anywhere-else-0123456789"),  # the test suite's
    # collectstatic at image build time needs the production settings to load; never the running service's key
    ("Dockerfile", "collectstatic-only-not-a-runtime-secret-0123456789-abcdefghijklmnop"),
}
# The demo accounts' passwords, public by design (README, seed_demo refuses to run with DEBUG off).
DEMO_PASSWORDS = {"demo-firm-2026", "demo-review-2026", "demo-bank-2026"}


def repository_files() -> list[tuple[str, str]]:
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    out = []
    for raw in filter(None, names):
        path = ROOT / raw.decode()
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            out.append((raw.decode(), path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue  # binary
    return out


def secrets_in(name: str, text: str) -> list[str]:
    found = [f"{name}: private key" for _ in PRIVATE_KEY.finditer(text)]
    found += [f"{name}: AWS access key id" for _ in AWS_KEY_ID.finditer(text)]
    found += [f"{name}: AWS secret" for _ in AWS_SECRET.finditer(text)]
    for match in (SECRET_KEY_PY if name.endswith(".py") else SECRET_KEY_ENV).finditer(text):
        value = match.group(1)
        if (name, value) not in SECRET_KEY_ALLOWED:
            found.append(f"{name}: SECRET_KEY = {value[:12]}...")
    if not name.startswith("tests/"):  # test fixtures have throw-away passwords
        for match in PASSWORD_LITERAL.finditer(text):
            if match.group(1) not in DEMO_PASSWORDS:
                found.append(f"{name}: password {match.group(1)[:3]}...")
    return found


def test_the_detectors_find_what_they_look_for():
    samples = {
        "keys/id_rsa": "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3Blbn...\n",
        "deploy.env": "AWS_ACCESS_KEY_ID=" + "AKIA" + "Q" * 16,
        "aws.cfg": "aws_secret_access_key = " + "a" * 40,
        "config/settings/production.py": "SECRET_" + 'KEY = "' + "x9" * 30 + '"',
        ".env": "SECRET_" + "KEY=" + "y8" * 30,
        "registry/services.py": 'user.set_password("' + "hunter2-hunter2" + '")\nDEFAULT_PASSWORD = "s3cr3t-pw"',
    }
    for name, text in samples.items():
        assert secrets_in(name, text), name
    harmless = {
        "config/settings/base.py": 'SECRET_KEY = env("SECRET_KEY", default="")',
        ".env.example": "SECRET_KEY=\nALLOWED_HOSTS=localhost",
        "docker-compose.yml": "SECRET_KEY: ${SECRET_KEY}",
        "credit/management/commands/seed_demo.py": 'DEMO_PASSWORDS = {"firm": "demo-firm-2026"}',
        "tests/test_x.py": 'password = "pw-for-tests-1"',
    }
    for name, text in harmless.items():
        assert secrets_in(name, text) == [], name


def test_no_secret_in_the_repository():
    files = repository_files()
    assert len(files) > 50  # the scan really read the repository
    found = [hit for name, text in files for hit in secrets_in(name, text)]
    assert found == []
