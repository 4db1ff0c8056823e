"""Training: one fixed model file, retrained only when config, domain, data, the spaCy pipeline or our own
NLU components changed.

A fingerprint of those inputs is stored next to the model; an unchanged fingerprint skips training.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from bot.config import Settings, rasa_environment

MODEL_NAME = "forlob"


def fingerprint(settings: Settings) -> str:
    digest = hashlib.sha256()
    root = settings.root
    inputs = [root / "config.yml", root / "domain.yml", *sorted((root / "data").rglob("*.yml")),
              *sorted((root / "bot" / "nlp").glob("*.py")),
              *sorted(p for p in settings.spacy_model_dir.rglob("*") if p.is_file())]
    for path in inputs:
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path(settings: Settings) -> Path:
    return settings.models_dir / f"{MODEL_NAME}.tar.gz"


def rasa_train_command(out_dir: Path | str) -> list[str]:
    """A forced `rasa train` on the project's config, domain and data, writing forlob.tar.gz into out_dir."""
    return [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", "domain.yml",
            "--data", "data", "--out", str(out_dir), "--fixed-model-name", MODEL_NAME, "--force"]


def train(settings: Settings, force: bool = False) -> Path:
    """Train into models/forlob.tar.gz unless the stored fingerprint matches; returns the model path."""
    target = model_path(settings)
    stamp = settings.models_dir / ".trained"
    current = fingerprint(settings)
    if not force and target.exists() and stamp.exists() and stamp.read_text().strip() == current:
        stamp.touch()
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(rasa_train_command(settings.models_dir), cwd=settings.root, env=rasa_environment(settings),
                   check=True)
    stamp.write_text(current + "\n")
    return target
