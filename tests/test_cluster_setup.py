"""`make cluster`'s set-up without starting a cluster: the nginx config from its template, and the shared
services started only with the operator's own command."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bot.ops.cluster import StartupError, ensure_service, nginx_config
from tests.conftest import free_port, require_service


def test_the_nginx_config_lists_every_replica_and_its_probe(tmp_path):
    config = nginx_config(tmp_path, "127.0.0.1", 8000, [5101, 5102, 5103])
    assert "listen 127.0.0.1:8000;" in config and f"pid {tmp_path}/nginx.pid;" in config
    assert [f"server 127.0.0.1:{p} max_fails=0;" in config for p in (5101, 5102, 5103)] == [True] * 3
    assert (
        "location = /health/ready/3 {" in config
        and "proxy_pass http://127.0.0.1:5103/health/ready;" in config
    )
    assert "proxy_next_upstream_tries 3;" in config
    assert 'return 503 \'[{"recipient_id": "", "text": "Undskyld' in config
    assert config.count("{") == config.count("}")  # no template syntax left over
    assert "listen [::1]:8000;" in nginx_config(tmp_path, "::1", 8000, [5101])


def test_a_service_that_does_not_answer_stops_the_cluster_with_what_to_do():
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(StartupError, match=r"svarer ikke .*--redis-start \(REDIS_START\)"):
        ensure_service("redis", url)
    with pytest.raises(StartupError, match="svarer stadig ikke"):
        ensure_service("redis", url, "true", timeout=1)


@pytest.mark.services
def test_the_operators_start_command_is_run_and_waited_for(tmp_path):
    require_service("redis-server", shutil.which("redis-server") is not None, "apt-get install redis-server")
    port = free_port()
    start = (
        f"redis-server --port {port} --daemonize yes --save '' --dir {tmp_path} --logfile {tmp_path}/r.log"
    )
    try:
        ensure_service("redis", f"redis://127.0.0.1:{port}/0", start)
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10)
