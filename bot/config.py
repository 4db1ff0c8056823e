"""Every environment variable the project reads, in one place, with its default.

Rasa's own YAML files (endpoints.yml, credentials.yml) read some of these with `${VAR}`; Rasa has no
defaults for that syntax, so `rasa_environment()` fills them in before any Rasa process starts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    root: Path
    var_dir: Path
    build_dir: Path
    models_dir: Path
    content_dir: Path
    kb_database_url: str
    tracker_store_url: str
    spacy_model_dir: Path
    rasa_port: int
    action_port: int
    action_endpoint_url: str
    host: str
    retention: str | None  # e.g. "30d"; None → deployment.yml privacy.retention_days
    web_port: int  # the web app: demo page, widget files, printable checklists
    web_url: str  # the web app's public base URL (links in replies point here)
    rasa_public_url: str  # where browsers reach the Rasa server (the widget's socket.io)

    @property
    def spacy_model_name(self) -> str:
        """Name of an installed spaCy package to start from, if any (see bot.nlp.builder)."""
        return os.environ.get("SPACY_BASE_MODEL", "da_core_news_sm")


def load_settings(env: dict | None = None) -> Settings:
    """Read settings from `env` (default: os.environ). Cheap; call it where needed, not at import."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("FORLOB_VAR_DIR", ROOT / "var"))
    build_dir = Path(env.get("FORLOB_BUILD_DIR", ROOT / "build"))
    action_port = int(env.get("ACTION_PORT", "5055"))
    rasa_port = int(env.get("RASA_PORT", "5005"))
    web_port = int(env.get("WEB_PORT", "8080"))
    return Settings(
        root=ROOT,
        var_dir=var_dir,
        build_dir=build_dir,
        models_dir=Path(env.get("FORLOB_MODELS_DIR", ROOT / "models")),
        content_dir=Path(env.get("KB_CONTENT_DIR", ROOT / "knowledge_base" / "content")),
        kb_database_url=env.get("KB_DATABASE_URL", f"sqlite:///{var_dir / 'kb.sqlite'}"),
        tracker_store_url=env.get("TRACKER_STORE_URL", f"sqlite:///{var_dir / 'tracker.sqlite'}"),
        spacy_model_dir=Path(env.get("SPACY_MODEL_DIR", build_dir / "spacy" / "da_forlob")),
        rasa_port=rasa_port,
        action_port=action_port,
        action_endpoint_url=env.get("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{action_port}/webhook"),
        host=env.get("FORLOB_HOST", "127.0.0.1"),
        retention=env.get("FORLOB_RETENTION") or None,
        web_port=web_port,
        web_url=env.get("FORLOB_WEB_URL", f"http://127.0.0.1:{web_port}").rstrip("/"),
        rasa_public_url=env.get("FORLOB_RASA_PUBLIC_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
    )


def rasa_environment(settings: Settings, base: dict | None = None) -> dict:
    """Environment for a Rasa subprocess: every `${VAR}` in endpoints.yml/credentials.yml set."""
    env = dict(os.environ if base is None else base)
    env.setdefault("TRACKER_STORE_URL", settings.tracker_store_url)
    env.setdefault("ACTION_ENDPOINT_URL", settings.action_endpoint_url)
    env.setdefault("KB_DATABASE_URL", settings.kb_database_url)
    env.setdefault("SPACY_MODEL_DIR", str(settings.spacy_model_dir))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    return env


DEPLOYMENT_ENV = {
    "municipality": "FORLOB_MUNICIPALITY",
    "name": "FORLOB_CONTACT_NAME",
    "phone": "FORLOB_CONTACT_PHONE",
    "email": "FORLOB_CONTACT_EMAIL",
    "opening_hours": "FORLOB_CONTACT_HOURS",
    "url": "FORLOB_CONTACT_URL",
}


def deployment_overrides(env: dict | None = None) -> dict:
    """Environment overrides for the deployment's municipality and human contact (deployment.yml)."""
    env = os.environ if env is None else env
    return {key: env[var] for key, var in DEPLOYMENT_ENV.items() if env.get(var)}
