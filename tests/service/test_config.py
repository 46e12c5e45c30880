"""The configuration file (multimargin.config): every key validated and named, the
environment over the file, flags over both; `multimargin config check`; and a server
started from a file alone."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
import serverkit
from grpc_health.v1 import health_pb2, health_pb2_grpc
from multimargin import config

GOOD = """
[server]
listen = "127.0.0.1:6001"
data_dir = "/tmp/mm"
clock = "system"
grace = 2.5

[limits]
max_in_flight = 64

[logging]
level = "warning"

[metrics]
listen = "127.0.0.1:9999"
"""


def test_a_file_sets_what_it_names_and_defaults_fill_the_rest() -> None:
    cfg = config.resolve(text=GOOD, environ={})
    assert cfg["server.listen"] == "127.0.0.1:6001"
    assert (cfg["server.clock"], cfg["server.grace"], cfg["limits.max_in_flight"]) == ("system", 2.5, 64)
    assert cfg["logging.level"] == "WARNING"
    assert cfg["server.demo"] is False and cfg["server.rulebook"] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nlisten = 5", "server.listen: must be a non-empty string"),
        ('[server]\nlisten = "nowhere"', "server.listen: must be HOST:PORT"),
        ("[server]\ngrace = -1", "server.grace: must be ≥ 0"),
        ('[server]\nclock = "wall"', "server.clock: must be one of explicit, system"),
        ("[limits]\nmax_in_flight = 0", "limits.max_in_flight: must be an integer ≥ 1"),
        ('[logging]\nlevel = "loud"', "logging.level: must be a logging level"),
        ("[server]\ndemo = 1", "server.demo: must be true or false"),
        ("[servr]\nlisten = 1", "servr.listen: unknown key"),
        ("listen = 1", "listen: must be a table"),
        ("[server\n", "not TOML"),
    ],
)
def test_every_bad_key_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message.replace("(", r"\(")):
        config.resolve(text=text, environ={})


def test_environment_over_file_and_flags_over_both() -> None:
    env = {"MULTIMARGIN_SERVER_LISTEN": "127.0.0.1:7000", "MULTIMARGIN_SERVER_DEMO": "true"}
    cfg = config.resolve(text=GOOD, environ=env)
    assert (cfg["server.listen"], cfg["server.demo"]) == ("127.0.0.1:7000", True)
    cfg = config.resolve(text=GOOD, environ=env, flags={"listen": "127.0.0.1:8000", "demo": None})
    assert (cfg["server.listen"], cfg["server.demo"]) == ("127.0.0.1:8000", True)
    with pytest.raises(config.ConfigError, match="MULTIMARGIN_LIMITS_MAX_IN_FLIGHT: must be an integer"):
        config.resolve(environ={"MULTIMARGIN_LIMITS_MAX_IN_FLIGHT": "many"})
    with pytest.raises(config.ConfigError, match="--grace: must be a number"):
        config.resolve(environ={}, flags={"grace": "soon"})


def test_config_check_prints_the_effective_settings_or_the_bad_key(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    out = subprocess.run(
        [str(serverkit.MULTIMARGIN), "config", "check", str(good)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert 'listen = "127.0.0.1:6001"' in out.stdout and "max_in_flight = 64" in out.stdout
    assert config.resolve(text=out.stdout, environ={}) == config.resolve(text=GOOD, environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmax_in_flight = -3\n")
    out = subprocess.run(
        [str(serverkit.MULTIMARGIN), "config", "check", str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 2 and "limits.max_in_flight: must be an integer ≥ 1" in out.stderr


def test_a_server_starts_from_a_config_file_alone(tmp_path: Path) -> None:
    port, metrics = serverkit.free_port(), serverkit.free_port()
    path = tmp_path / "mm.toml"
    path.write_text(
        f'[server]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp_path / "data"}"\n'
        "[auth]\ninsecure_no_auth = true\n"
        f'[metrics]\nlisten = "127.0.0.1:{metrics}"\n'
    )
    proc = subprocess.Popen(
        [str(serverkit.MULTIMARGIN), "serve", "--config", str(path)], stderr=subprocess.DEVNULL
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 60
            while True:
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        break
                except grpc.RpcError:
                    assert time.monotonic() < deadline and proc.poll() is None
                    time.sleep(0.1)
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10).read().decode()
        assert "multimargin_rpc_seconds" in body
        assert (tmp_path / "data" / "multimargin.db").exists()
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
