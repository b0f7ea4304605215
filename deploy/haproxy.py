"""HAProxy for the replicas: its config rendered from haproxy.cfg.tmpl, and its binary.

NB: the template's $names are string.Template placeholders; HAProxy's own "${VAR}" would
need "$${VAR}" there.
"""
from __future__ import annotations

import os
import shutil
import string
import subprocess
from pathlib import Path

TEMPLATE = Path(__file__).with_name("haproxy.cfg.tmpl")
COOKIE = "SERVERID"  # the cookie that keeps a browser on its replica


def server_name(index: int) -> str:
    """The replica's name in HAProxy, and its SERVERID cookie value: r1, r2, ..."""
    return f"r{index + 1}"


def render(replica_ports: list[int], port: int = 8500, bind: str = "0.0.0.0",
           stats_port: int = 8404, replica_host: str = "127.0.0.1") -> str:
    """The config for one frontend on bind:port over replicas on replica_host:replica_ports."""
    if not replica_ports:
        raise ValueError("at least one replica")
    servers = "\n".join(f"    server {server_name(i)} {replica_host}:{p} cookie {server_name(i)}"
                        for i, p in enumerate(replica_ports))
    return string.Template(TEMPLATE.read_text()).substitute(
        bind=bind, port=port, stats_port=stats_port, servers=servers)


def find() -> Path | None:
    """The haproxy binary (PATH, then Debian's /usr/sbin), or None."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    return Path(found) if found else None


def apt_install(packages: list[str]) -> None:
    """apt-get install Debian packages (as root), or say how to get them and stop.

    NB: as .ci/run installs chromium; the output goes to a log shown only on failure.
    """
    command = "apt-get update -q && apt-get install -y -q " + " ".join(packages)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"{', '.join(packages)} missing: install with `sudo sh -c '{command}'`")
    print(f"installing {' '.join(packages)} (apt-get)...", flush=True)
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"could not install {packages}:\n{done.stdout[-2000:]}{done.stderr}")


def check(binary: Path, config: Path) -> None:
    """haproxy -c: the rendered config is valid, or SystemExit with HAProxy's words."""
    done = subprocess.run([str(binary), "-c", "-q", "-f", str(config)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"HAProxy refuses {config}:\n{done.stdout}{done.stderr}")


def command(binary: Path, config: Path) -> list[str]:
    """HAProxy in the foreground (-db: no daemon, logs to stdout), master-worker mode."""
    return [str(binary), "-W", "-db", "-f", str(config)]
