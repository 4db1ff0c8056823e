"""Every environment variable the project reads, in one place, with its default.

Rasa's own YAML files (endpoints.yml, credentials.yml) read some of these with `${VAR}`; Rasa has no
defaults for that syntax, so `rasa_environment()` fills them in before any Rasa process starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EscalationSettings:
    """Where a caseworker's request for a colleague goes from Slack or Teams (docs/slack.md, docs/teams.md).
    Empty values mean "not set up": the caseworker is then told that nothing was sent,
    and gets the contact."""

    slack_channel: str = ""  # SLACK_ESCALATION_CHANNEL: a channel id (C…), posted to with the Slack bot token
    slack_channel_name: str = (
        ""  # SLACK_ESCALATION_CHANNEL_NAME: what the caseworker reads, e.g. "#faglig-sparring"
    )
    teams_conversation: str = (
        ""  # TEAMS_ESCALATION_CONVERSATION: a channel's conversation id (19:…@thread.tacv2)
    )
    teams_webhook: str = (
        ""  # TEAMS_ESCALATION_WEBHOOK: an incoming-webhook (or Workflows) URL, if no conversation
    )
    teams_channel_name: str = ""  # TEAMS_ESCALATION_CHANNEL_NAME
    answer_time: str = (
        ""  # ESCALATION_ANSWER_TIME: who answers when, in Danish; "" → core/texts.yml's default
    )

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_channel)

    @property
    def teams_configured(self) -> bool:
        return bool(self.teams_conversation or self.teams_webhook)


@dataclass(frozen=True)
class Settings:
    root: Path
    var_dir: Path
    build_dir: Path
    models_dir: Path
    content_dir: Path
    kb_database_url: str
    tracker_store_url: str
    lock_store_url: (
        str  # redis://… lets replicas share Rasa's conversation locks; "" → in memory (one process)
    )
    spacy_model_dir: Path
    rasa_port: int
    action_port: int
    action_endpoint_url: str
    host: str
    retention: str | None  # e.g. "30d"; None → deployment.yml privacy.retention_days
    web_port: int  # the web app: demo page, widget files, printable checklists
    web_url: str  # the web app's public base URL (links in replies point here)
    rasa_public_url: str  # where browsers reach the Rasa server (the widget's socket.io)
    allowed_origins: tuple[str, ...]  # page origins whose browsers may open the widget's socket.io
    escalation: EscalationSettings = (
        EscalationSettings()
    )  # Slack/Teams: a caseworker's question to colleagues
    # TRACKER_CACHE_SIZE: conversations whose stored events the Rasa process keeps
    # (bot/server/tracker_store.py), so that a message reads only the rows written since; 0 turns the cache
    # off. Memory: the stored JSON of each one's latest session, an estimated 100–200 KB for 20 turns, so the
    # default costs some 30–60 MB at most.
    tracker_cache_size: int = 300

    @property
    def spacy_model_name(self) -> str:
        """Name of an installed spaCy package to start from, if any (see bot.ops.spacy_pipeline)."""
        return os.environ.get("SPACY_BASE_MODEL", "da_core_news_sm")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: os.environ). Cheap; call it where needed, not at import."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("FORLOB_VAR_DIR", ROOT / "var"))
    build_dir = Path(env.get("FORLOB_BUILD_DIR", ROOT / "build"))
    action_port = int(env.get("ACTION_PORT", "5055"))
    rasa_port = int(env.get("RASA_PORT", "5005"))
    web_port = int(env.get("WEB_PORT", "8080"))
    web_url = env.get("FORLOB_WEB_URL", f"http://127.0.0.1:{web_port}").rstrip("/")
    return Settings(
        root=ROOT,
        var_dir=var_dir,
        build_dir=build_dir,
        models_dir=Path(env.get("FORLOB_MODELS_DIR", ROOT / "models")),
        content_dir=Path(env.get("KB_CONTENT_DIR", ROOT / "knowledge_base" / "content")),
        kb_database_url=env.get("KB_DATABASE_URL", f"sqlite:///{var_dir / 'kb.sqlite'}"),
        tracker_store_url=env.get("TRACKER_STORE_URL", f"sqlite:///{var_dir / 'tracker.sqlite'}"),
        lock_store_url=env.get("LOCK_STORE_URL", ""),
        spacy_model_dir=Path(env.get("SPACY_MODEL_DIR", build_dir / "spacy" / "da_forlob")),
        rasa_port=rasa_port,
        action_port=action_port,
        action_endpoint_url=env.get("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{action_port}/webhook"),
        host=env.get("FORLOB_HOST", "127.0.0.1"),
        retention=env.get("FORLOB_RETENTION") or None,
        web_port=web_port,
        web_url=web_url,
        rasa_public_url=env.get("FORLOB_RASA_PUBLIC_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
        allowed_origins=allowed_origins(env.get("FORLOB_ALLOWED_ORIGINS", ""), web_url),
        escalation=EscalationSettings(
            **{field: env.get(var, "").strip() for field, var in ESCALATION_ENV.items()}
        ),
        tracker_cache_size=cache_size(
            env.get("TRACKER_CACHE_SIZE") or "300"
        ),  # set but empty counts as unset
    )


class SettingsError(ValueError):
    """An environment variable whose value cannot be used; the message names it."""


def cache_size(value: str) -> int:
    """TRACKER_CACHE_SIZE: a whole number of conversations, 0 or more."""
    try:
        size = int(value.strip())
    except ValueError:
        size = -1
    if size < 0:
        raise SettingsError(
            f"TRACKER_CACHE_SIZE must be a whole number, 0 or more (0 = no cache), not {value!r}"
        )
    return size


ESCALATION_ENV = {
    "slack_channel": "SLACK_ESCALATION_CHANNEL",
    "slack_channel_name": "SLACK_ESCALATION_CHANNEL_NAME",
    "teams_conversation": "TEAMS_ESCALATION_CONVERSATION",
    "teams_webhook": "TEAMS_ESCALATION_WEBHOOK",
    "teams_channel_name": "TEAMS_ESCALATION_CHANNEL_NAME",
    "answer_time": "ESCALATION_ANSWER_TIME",
}


def allowed_origins(value: str, web_url: str) -> tuple[str, ...]:
    """FORLOB_ALLOWED_ORIGINS (comma-separated origins, or "*" for any) or else the web app's own origin;
    a loopback web URL also allows its other spelling (127.0.0.1 ↔ localhost), as browsers send either."""
    origins = [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
    if origins:
        return tuple(origins)
    parts = urlsplit(web_url)
    origins = [f"{parts.scheme}://{parts.netloc}"]
    for one, other in (("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")):
        if parts.hostname == one:
            origins.append(f"{parts.scheme}://{parts.netloc.replace(one, other, 1)}")
    return tuple(origins)


# Slack (credentials.yml → bot/server/channels/slack.py). Empty token/secret: Rasa still starts and the Slack
# webhook answers 503 with a reason. SLACK_API_URL lets tests point the Web API client at a local fake.
SLACK_ENV = {
    "SLACK_BOT_TOKEN": "",
    "SLACK_SIGNING_SECRET": "",
    "SLACK_API_URL": "https://slack.com/api/",
}


# Microsoft Teams (credentials.yml → bot/server/channels/teams.py, set-up in docs/teams.md). Without app id,
# password and tenant Rasa still starts and the Teams webhook answers 503 with a reason. The URLs and the
# issuer are Microsoft's public ones; tests point them at local fakes. `{tenant}` in the token URL becomes the
# tenant id.
TEAMS_ENV = {
    "TEAMS_APP_ID": "",
    "TEAMS_APP_PASSWORD": "",
    "TEAMS_TENANT_ID": "",
    "TEAMS_OPENID_METADATA_URL": "https://login.botframework.com/v1/.well-known/openidconfiguration",
    "TEAMS_TOKEN_URL": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    "TEAMS_ISSUER": "https://api.botframework.com",
}


# Scale-out (`python -m bot cluster`): replicas share a PostgreSQL tracker store and a Redis lock store. These
# are the defaults on one machine; TRACKER_STORE_URL and LOCK_STORE_URL override them. A conversation's lock
# is held at most TICKET_LOCK_LIFETIME seconds (Rasa's variable, Rasa's default 60): after a replica dies
# mid-message, the resent message waits at most that long for the dead replica's lock.
CLUSTER_TRACKER_STORE_URL = "postgresql://postgres@127.0.0.1:5432/forlobsguiden"
CLUSTER_LOCK_STORE_URL = "redis://127.0.0.1:6379/1"
TICKET_LOCK_LIFETIME = "20"


def cluster_settings(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """Settings for the replicas of `python -m bot cluster`
    (PostgreSQL and Redis unless the environment says)."""
    env = os.environ if env is None else env
    return replace(
        settings,
        tracker_store_url=env.get("TRACKER_STORE_URL") or CLUSTER_TRACKER_STORE_URL,
        lock_store_url=env.get("LOCK_STORE_URL") or CLUSTER_LOCK_STORE_URL,
    )


def rasa_environment(settings: Settings, base: dict | None = None) -> dict:
    """Environment for a Rasa subprocess: every `${VAR}` in endpoints.yml/credentials.yml set."""
    env = dict(os.environ if base is None else base)
    env.setdefault("TRACKER_STORE_URL", settings.tracker_store_url)
    env.setdefault("LOCK_STORE_URL", settings.lock_store_url)
    env.setdefault("TICKET_LOCK_LIFETIME", TICKET_LOCK_LIFETIME)
    env.setdefault(
        "SANIC_HOST", "127.0.0.1"
    )  # rasa_sdk's action server listens here (its default: all interfaces)
    env.setdefault("ACTION_ENDPOINT_URL", settings.action_endpoint_url)
    env.setdefault("KB_DATABASE_URL", settings.kb_database_url)
    env.setdefault("SPACY_MODEL_DIR", str(settings.spacy_model_dir))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    for name, default in SLACK_ENV.items():
        env[name] = env.get(name) or default  # set but empty counts as unset
    for name, default in TEAMS_ENV.items():
        env[name] = env.get(name) or default
    return env


DEPLOYMENT_ENV = {
    "municipality": "FORLOB_MUNICIPALITY",
    "name": "FORLOB_CONTACT_NAME",
    "phone": "FORLOB_CONTACT_PHONE",
    "email": "FORLOB_CONTACT_EMAIL",
    "opening_hours": "FORLOB_CONTACT_HOURS",
    "url": "FORLOB_CONTACT_URL",
}


def deployment_overrides(env: Mapping[str, str] | None = None) -> dict:
    """Environment overrides for the deployment's municipality and human contact (deployment.yml)."""
    env = os.environ if env is None else env
    return {key: env[var] for key, var in DEPLOYMENT_ENV.items() if env.get(var)}
