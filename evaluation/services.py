"""Private PostgreSQL and Redis servers on free loopback ports, for the load benchmark and the cluster tests.

They can be stopped and started again (an outage) without touching the machine's shared services, which
other tests use. PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


class PrivateRedis:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port, self.process = Path(folder), port, None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        from bot.ops.cluster import redis_answers

        return redis_answers(self.url)

    def start(self) -> "PrivateRedis":
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(self.answers, 15, "redis-server")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port, self.bin, self.running = Path(folder), port, _postgres_bin(), False

    @staticmethod
    def available() -> bool:
        return _postgres_bin() is not None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            prefix + list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if done.returncode:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-500:]}")

    def init(self) -> "PrivatePostgres":
        """A new cluster in `folder` (whose parent folders the postgres user must be able to enter)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.folder / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        )
        return self

    def start(self) -> "PrivatePostgres":
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-o",
            options,
            "-l",
            str(self.folder / "postgres.log"),
            "-w",
            "start",
        )
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        self.running = False

    def create_database(self, name: str) -> str:
        from bot.ops.cluster import ensure_database

        ensure_database(self.url(name))
        return self.url(name)
