"""`python -m bot run` (what `make run` starts): ready message, answers, and Ctrl-C stops every process."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from core.config import ROOT
from tests.conftest import free_port

pytestmark = pytest.mark.rasa


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_answers_and_ctrl_c_stops_everything(trained_model, kb_url, tmp_path):
    rasa_port, action_port, web_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
        "WEB_PORT": str(web_port),
        "KB_DATABASE_URL": kb_url,
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.sqlite'}",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Forløbsguiden kører" in line or process.poll() is not None:
                break
        assert any("Forløbsguiden kører" in line for line in lines), lines[-20:]
        request = urllib.request.Request(
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            data=json.dumps({"sender": "run", "message": "hej"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.loads(response.read())[0]["text"].startswith("Hej")
        assert port_open(action_port) and port_open(web_port)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "Stopper" in process.stdout.read()
        assert not port_open(rasa_port) and not port_open(action_port) and not port_open(web_port)
    finally:
        if process.poll() is None:
            process.kill()
