"""The one place that reads the process environment (house rule R9)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# A local .env file is read when present; real environment variables win.
_env_file = BASE_DIR / ".env"
if _env_file.is_file():
    environ.Env.read_env(str(_env_file), overwrite=False)
