"""Laptop settings: DEBUG on, everything else from the environment (SQLite and in-process jobs by default)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
