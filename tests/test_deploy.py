"""deploy/: the HAProxy config rendered for N replicas, and the launcher's arguments.

The config is read back as text: sections and their lines. `haproxy -c` checks it too where
Debian's haproxy is installed (skipped without it, failed under EXPLORER_REQUIRE_HAPROXY=1).
"""
from __future__ import annotations

import re
import subprocess

import pytest

from deploy import haproxy, serve
from tests.needs import skip_or_fail

REQUIRE_HAPROXY_ENV = "EXPLORER_REQUIRE_HAPROXY"


def sections(text: str) -> dict[str, list[str]]:
    """'backend replicas' -> its lines (comments and blanks dropped)."""
    out, current = {}, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = out.setdefault(line.strip(), [])
        else:
            current.append(" ".join(line.split()))
    return out


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value).groups()
    return int(number) * {"ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1e-3}[unit]


@pytest.mark.parametrize("n", [1, 2, 5])
def test_the_config_for_n_replicas_keeps_browsers_on_theirs_carries_websockets_and_checks_health(n):
    ports = [9100 + 3 * i for i in range(n)]
    config = sections(haproxy.render(ports, port=8080, bind="0.0.0.0", stats_port=9999))
    backend, defaults = config["backend replicas"], config["defaults"]
    assert "cookie SERVERID insert indirect nocache httponly" in backend
    assert "option httpchk GET /_stcore/health" in backend
    assert "http-check expect status 200" in backend
    assert any(line.startswith("default-server check ") for line in backend)
    servers = [line.split() for line in backend if line.startswith("server ")]
    assert [s[2] for s in servers] == [f"127.0.0.1:{p}" for p in ports]
    assert [s[1] for s in servers] == [s[s.index("cookie") + 1] for s in servers]
    assert len({s[1] for s in servers}) == n
    tunnel = next(line.split()[2] for line in defaults if line.startswith("timeout tunnel"))
    assert seconds(tunnel) >= 3600  # an open websocket outlives a lecture
    assert "mode http" in defaults and any(x.startswith("option redispatch") for x in defaults)
    assert config["frontend explorer"][0] == "bind 0.0.0.0:8080"
    assert "bind 127.0.0.1:9999" in config["listen stats"]


def test_no_replicas_is_refused():
    with pytest.raises(ValueError):
        haproxy.render([])


def test_haproxy_itself_accepts_the_rendered_config(tmp_path):
    binary = haproxy.find()
    if binary is None:
        skip_or_fail("haproxy missing: apt-get install -y haproxy", REQUIRE_HAPROXY_ENV)
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.render([9101, 9102], port=9100, bind="127.0.0.1"))
    done = subprocess.run([str(binary), "-c", "-f", str(config)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_serve_takes_its_defaults_and_refuses_a_silly_replica_count(capsys):
    args = serve.parse_args([])
    assert (args.replicas, args.port, args.bind, args.first_replica_port) == \
        (2, 8500, "0.0.0.0", 8601)
    assert args.db_url is None and args.data.parts[-2:] == ("data", "serve")
    with pytest.raises(SystemExit):
        serve.parse_args(["--replicas", "0"])
    assert "--replicas must be 1..32" in capsys.readouterr().err


def test_the_students_url_is_haproxys_port_on_this_machine():
    deployment = serve.Deployment(replicas=3, port=8555, first_replica_port=8700)
    assert deployment.ports == [8700, 8701, 8702]
    assert deployment.url == "http://127.0.0.1:8555/"
