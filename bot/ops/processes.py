"""Starts and stops the assistant's processes: the action server, the Rasa server and the web app.

One `Stack` is used by `make run`, `make chat` and the tests, so they start the same things the same way.
Each child runs in its own process group; `stop()` ends the whole group (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.ops.training import model_path
from core.config import Settings, rasa_environment


class StartupError(RuntimeError):
    pass


def wait_for_http(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartupError(f"{' '.join(process.args[:4])} stoppede med kode {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise StartupError(f"{url} svarede ikke inden for {timeout:.0f} s")


@dataclass
class Stack:
    settings: Settings
    rasa_port: int
    action_port: int
    web_port: int
    env: dict
    log_dir: Path | None = None
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.settings.host}:{self.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.settings.host}:{self.web_port}"

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command,
            cwd=self.settings.root,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_process(
        self, name: str, command: list[str], ready_url: str, timeout: float = 30
    ) -> subprocess.Popen:
        """One more process in this stack (nginx for `python -m bot cluster`),
        ready when `ready_url` answers."""
        process = self._spawn(name, command)
        wait_for_http(ready_url, process, timeout)
        return process

    def start_actions(self, timeout: float = 60) -> None:
        process = self._spawn(
            "actions",
            [sys.executable, "-m", "actions", "--actions", "actions", "--port", str(self.action_port)],
        )
        wait_for_http(f"http://127.0.0.1:{self.action_port}/health", process, timeout)

    def start_rasa(self, timeout: float = 180) -> None:
        command = [
            sys.executable,
            "-m",
            "bot.server.rasa_server",
            "run",
            "--model",
            str(model_path(self.settings)),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "--interface",
            self.settings.host,
            "--port",
            str(self.rasa_port),
            "--cors",
            "*",
        ]
        token = self.env.get("RASA_API_TOKEN")
        if token:
            command += ["--enable-api", "--auth-token", token]
        process = self._spawn("rasa", command)
        wait_for_http(f"{self.rasa_url}/health/ready", process, timeout)  # model, stores and actions

    def start_web(self, timeout: float = 60) -> None:
        process = self._spawn("web", [sys.executable, "-m", "bot.web"])
        wait_for_http(f"{self.web_url}/widget.js", process, timeout)

    def start(self) -> "Stack":
        from core.events_table import RetentionError, check_database

        try:
            check_database(self.env["TRACKER_STORE_URL"])
        except RetentionError as exc:
            raise StartupError(str(exc)) from exc
        try:
            self.start_actions()
            self.start_rasa()
            self.start_web()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 10) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


def make_stack(
    settings: Settings,
    rasa_port: int | None = None,
    action_port: int | None = None,
    extra_env: dict | None = None,
    log_dir: Path | None = None,
    web_port: int | None = None,
) -> Stack:
    action_port = action_port or settings.action_port
    rasa_port = rasa_port or settings.rasa_port
    web_port = web_port or settings.web_port
    env = rasa_environment(settings)
    env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{action_port}/webhook"
    # the web app and Rasa's socket.io origin check derive their URLs from these (core.config)
    env["RASA_PORT"], env["WEB_PORT"] = str(rasa_port), str(web_port)
    env.update(extra_env or {})
    return Stack(settings, rasa_port, action_port, web_port, env, log_dir)


def supervise(
    start: Callable[[], object],
    banner: Callable[[object, float], str],
    running: Callable[[], bool],
    stop: Callable[[], None],
) -> int:
    """Shared by `make run` and `make cluster`: start, print `banner(started, seconds)`, wait until Ctrl-C,
    SIGTERM or a process ending, then `stop()` (also after a failed start)."""

    def _stop(_signum, _frame):
        raise KeyboardInterrupt

    # set both explicitly: a shell that starts us in the background leaves SIGINT ignored
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        began = time.monotonic()
        started = start()
        print(banner(started, time.monotonic() - began), flush=True)
        while running():
            time.sleep(1)
        print("En proces stoppede uventet; stopper resten.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopper …", flush=True)
        return 0
    except StartupError as exc:
        print(f"Kunne ikke starte: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop()


def run_forever(settings: Settings) -> int:
    """`make run`: start everything, print where to talk to it, stop everything on Ctrl-C."""
    stack = make_stack(settings)

    def banner(_stack, seconds: float) -> str:
        return (
            f"\nForløbsguiden kører (klar efter {seconds:.0f} s).\n"
            f'  REST:      POST {stack.rasa_url}/webhooks/rest/webhook  {{"sender": "…", "message": "hej"}}\n'
            f"  socket.io: {stack.rasa_url}/socket.io\n"
            f"  Webwidget: {stack.web_url}/  (demoside med chatten)\n"
            f"Tryk Ctrl-C for at stoppe."
        )

    return supervise(stack.start, banner, lambda: all(p.poll() is None for p in stack.processes), stack.stop)


def chat(settings: Settings) -> int:
    """`make chat`: action server in the background, `rasa shell` in the foreground."""
    stack = make_stack(settings)
    try:
        stack.start_actions()
        command = [
            sys.executable,
            "-m",
            "bot.server.rasa_server",
            "shell",
            "--model",
            str(model_path(settings)),
            "--endpoints",
            "endpoints.yml",
            "--port",
            str(settings.rasa_port),
        ]
        return subprocess.call(command, cwd=settings.root, env=stack.env)
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
