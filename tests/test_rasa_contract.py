"""Rasa's internals as bot/server/patches.py assumes them: each patched or relied-upon symbol exists and takes
the parameters assumed; the versions are the pinned ones; `install()` puts every replacement in place."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest

from bot.server.patches import PATCHES, PINNED, RELIED, UnsupportedVersion, check_versions, resolve
from core.config import ROOT

ENTRIES = [*PATCHES, *RELIED]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.target)
def test_each_symbol_exists_with_the_parameters_assumed(entry):
    if entry.target == "socketio:AsyncServer.handlers":  # an instance attribute
        import socketio

        assert isinstance(socketio.AsyncServer().handlers, dict)
        return
    _owner, _name, obj = resolve(entry.target)
    if entry.parameters is not None:
        assert tuple(inspect.signature(obj).parameters) == entry.parameters, entry.reason


def test_the_pinned_versions_are_those_in_constraints():
    pins = dict(re.findall(r"^([\w-]+)==([\w.]+)$", (ROOT / "constraints.txt").read_text(), re.M))
    assert {package: pins.get(package) for package in PINNED} == PINNED
    check_versions()  # what is installed here


def test_another_version_is_refused_with_a_reason():
    with pytest.raises(UnsupportedVersion) as refused:
        check_versions(lambda package: "3.7.0" if package == "rasa" else PINNED[package])
    assert "rasa 3.6.21 (fundet: 3.7.0)" in str(refused.value)
    assert "constraints.txt" in str(refused.value)


def test_a_moved_symbol_is_found_missing():
    with pytest.raises(AttributeError):
        resolve("rasa.core.agent:Agent.handle_message_that_moved")


def test_install_puts_every_replacement_in_place():
    """In a fresh interpreter (the test process keeps Rasa as shipped)."""
    code = (
        "from bot.server import patches\n"
        "before = [patches.resolve(p.target)[2] for p in patches.PATCHES]\n"
        "patches.install(); patches.install()\n"
        "after = [patches.resolve(p.target)[2] for p in patches.PATCHES]\n"
        "print([p.target for p, b, a in zip(patches.PATCHES, before, after) if a is b or a == b])\n"
        "print(patches._installed == [p.target for p in patches.PATCHES])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-3:-1] == ["[]", "True"]
