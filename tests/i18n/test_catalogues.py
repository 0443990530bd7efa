"""Every project .po file (every app's and sub-app's locale/ and the project-wide one) is complete and safe to use,
and compiletranslations turns them into .mo files that Django loads."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

BASE = Path(settings.BASE_DIR)
SKIP = {".venv", ".git", "build", "node_modules", "media", "staticfiles", "tests", "softasset.egg-info"}
PLACEHOLDER = re.compile(r"%\([A-Za-z0-9_]+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{[A-Za-z_][A-Za-z0-9_]*\}|\{\}")


def project_po_files() -> list[Path]:
    files: list[Path] = []
    for top in sorted(BASE.iterdir()):
        if top.is_dir() and top.name not in SKIP and not top.name.startswith("."):
            files += sorted(top.rglob("locale/*/LC_MESSAGES/*.po")) if top.name != "locale" else []
    files += sorted((BASE / "locale").glob("*/LC_MESSAGES/*.po"))
    return files


PO_FILES = project_po_files()


def _ids(path: Path) -> str:
    return str(path.relative_to(BASE))


def test_every_app_that_has_strings_has_its_chinese_catalogue() -> None:
    found = {_ids(p) for p in PO_FILES}
    for folder in ("locale", "common/locale", "registry/locale", "valuation/locale", "credit/locale", "portal/locale"):
        assert f"{folder}/zh_Hans/LC_MESSAGES/django.po" in found


def _placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("path", PO_FILES, ids=_ids)
def test_the_catalogue_is_complete_with_identical_placeholders(path: Path) -> None:
    catalogue = polib.pofile(str(path))
    assert not catalogue.metadata_is_fuzzy, "remove the #, fuzzy flag of the header"
    if path.parts[-3].startswith("zh"):
        assert catalogue.metadata.get("Plural-Forms", "").replace(" ", "").startswith("nplurals=1;plural=0")
    problems = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        where = f"{entry.msgid!r} ({', '.join(f'{f}:{n}' for f, n in entry.occurrences[:1])})"
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {where}")
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not translations or any(not t.strip() for t in translations):
            problems.append(f"untranslated: {where}")
            continue
        expected = _placeholders(entry.msgid)
        problems.extend(
            f"placeholders differ: {where} -> {text!r}" for text in translations if _placeholders(text) != expected
        )
    assert problems == [], f"{_ids(path)}:\n" + "\n".join(problems)


def test_compiletranslations_writes_mo_files_django_loads(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = polib.pofile(str(BASE / "registry/locale/zh_Hans/LC_MESSAGES/django.po"))
    source.append(polib.POEntry(msgid="i18n test marker", msgstr="国际化测试标记"))
    target = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    source.save(str(target / "django.po"))
    settings.LOCALE_PATHS = [tmp_path / "locale", *settings.LOCALE_PATHS]  # resets Django's translation caches

    call_command("compiletranslations")

    assert (target / "django.mo").is_file()
    with translation.override("zh-hans"):
        assert translation.gettext("i18n test marker") == "国际化测试标记"
        assert translation.gettext("Asset not found.") == "未找到该资产。"
    with translation.override("en"):
        assert translation.gettext("i18n test marker") == "i18n test marker"


def test_every_project_catalogue_is_compiled_and_current() -> None:
    call_command("compiletranslations")  # what `make install` runs; only stale files are rewritten
    for path in PO_FILES:
        mo = path.with_suffix(".mo")
        assert mo.is_file(), f"{_ids(path)} is not compiled"
        assert mo.stat().st_mtime >= path.stat().st_mtime


@pytest.mark.parametrize(
    ("msgid", "chinese"),
    [
        ("No such endpoint.", "不存在该接口。"),  # locale/ (config)
        ("Hubei soft-asset registry", "湖北软资产登记平台"),  # locale/ (templates) and portal
        ("Invalid input", "输入无效"),  # common
        ("unified social credit code", "统一社会信用代码"),  # registry
        ("Only approved assets can be valued", "只有审核通过的资产才能估值"),  # valuation
        ("Asset already pledged", "资产已被质押"),  # credit
        ("Sign out", "退出登录"),  # portal
    ],
)
def test_known_strings_come_out_in_chinese_by_default_and_english_on_request(msgid: str, chinese: str) -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override(settings.LANGUAGE_CODE):
        assert translation.gettext(msgid) == chinese
    with translation.override("en"):
        assert translation.gettext(msgid) == msgid


def test_polib_can_read_every_catalogue_back(tmp_path: Path) -> None:
    for path in PO_FILES:
        copy = tmp_path / "x.po"
        shutil.copy(path, copy)
        catalogue = polib.pofile(str(copy))
        catalogue.save_as_mofile(str(tmp_path / "x.mo"))
        assert polib.mofile(str(tmp_path / "x.mo")).percent_translated() == 100
