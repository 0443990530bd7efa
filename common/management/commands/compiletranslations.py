"""Compile every .po file of the project into its .mo file, in pure Python (no GNU gettext needed).

`make install` runs it, so a fresh clone serves both languages without msgfmt. Only the project's own locale
folders are compiled (LOCALE_PATHS and the locale/ folder of each project app); installed packages ship theirs.
"""

from __future__ import annotations

from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def project_locale_dirs() -> list[Path]:
    base = Path(settings.BASE_DIR).resolve()
    dirs = [Path(p).resolve() for p in settings.LOCALE_PATHS]
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        installed = "site-packages" in path.parts or "dist-packages" in path.parts
        if path.is_relative_to(base) and not installed and (path / "locale").is_dir():
            dirs.append(path / "locale")
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


class Command(BaseCommand):
    help = "Compile the project's .po translation files into .mo files (pure Python)."

    def handle(self, *args: object, **options: object) -> None:
        compiled = 0
        for locale_dir in project_locale_dirs():
            for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
                try:
                    catalogue = polib.pofile(str(po_path))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"{po_path}: {exc}") from exc
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                catalogue.save_as_mofile(str(mo_path))
                compiled += 1
        self.stdout.write(f"compiled {compiled} translation file(s)")
