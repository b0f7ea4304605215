"""N single-process Streamlit replicas behind HAProxy, sharing one PostgreSQL class store.

    make serve REPLICAS=2                      # = python -m deploy.serve --replicas 2
    python -m deploy.serve --replicas 3 --port 8080 --db-url postgresql+psycopg://...

Starts PostgreSQL in <data>/postgres (unless --db-url names one), then the replicas on
127.0.0.1:<first-replica-port>..., each `streamlit run app.py` with $EXPLORER_CLASS_DB set to
the store's URL, waits until each answers /_stcore/health, then HAProxy on <bind>:<port>
(a cookie keeps each browser on its replica; stats on 127.0.0.1:<stats-port>). A replica
that dies is started again (--no-restart: not); HAProxy sends its students to the others
meanwhile. Ctrl-C or SIGTERM stops HAProxy, the replicas, then PostgreSQL. Logs:
<data>/logs/. NB: children start in their own process groups (Ctrl-C reaches this process
only, which stops them in order) and get SIGTERM/SIGINT if this process dies.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy import haproxy, postgres

ROOT = Path(__file__).resolve().parents[1]
CLASS_DB_ENV = "EXPLORER_CLASS_DB"  # the class store's URL, as explorer/classroom reads it
PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int):
    """A preexec_fn: the child gets `sig` when this process dies (Linux), even by kill -9."""
    def preexec() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    return preexec


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether url/_stcore/health answers 200 now."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


@dataclass
class Deployment:
    """The processes of one deployment; start() them, stop() them (also after a failure)."""

    replicas: int = 2
    port: int = 8500
    bind: str = "0.0.0.0"
    first_replica_port: int = 8601
    stats_port: int = 8404
    pg_port: int = 5433
    data: Path = ROOT / "data" / "serve"
    db_url: str | None = None
    app_dir: Path = ROOT
    restart: bool = True
    log: object = sys.stdout
    procs: dict = field(default_factory=dict)  # "r1".. and "haproxy" -> Popen
    cluster: postgres.Cluster | None = None

    @property
    def ports(self) -> list[int]:
        return [self.first_replica_port + i for i in range(self.replicas)]

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::") else self.bind
        return f"http://{host}:{self.port}/"

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    def logfile(self, name: str):
        (self.data / "logs").mkdir(parents=True, exist_ok=True)
        return open(self.data / "logs" / f"{name}.log", "ab")

    def start(self, timeout: float = 300.0) -> None:
        """PostgreSQL (unless db_url), the replicas, HAProxy; return once all answer."""
        missing = [] if haproxy.find() else ["haproxy"]
        if self.db_url is None and postgres.bin_dir() is None:
            missing.append("postgresql")
        if missing:
            haproxy.apt_install(missing)
        try:
            if self.db_url is None:
                self.cluster = postgres.Cluster(self.data, self.pg_port)
                self.db_url = self.cluster.start(max_connections=20 + 16 * self.replicas,
                                                 preexec_fn=_die_with_parent(signal.SIGINT))
                self.say(f"postgres: 127.0.0.1:{self.pg_port}, cluster in {self.cluster.folder}")
            for i in range(self.replicas):
                self.start_replica(i)
            self.wait(lambda: all(healthy(f"http://127.0.0.1:{p}/") for p in self.ports),
                      timeout, "the replicas")
            self.start_haproxy()
            self.wait(lambda: healthy(self.url), 30, "HAProxy")
        except BaseException:
            self.stop()
            raise

    def start_replica(self, i: int) -> None:
        """`streamlit run app.py` on its port, headless, with the class store's URL."""
        name, port = haproxy.server_name(i), self.ports[i]
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
                   str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        with self.logfile(f"replica-{name}") as log:
            self.procs[name] = subprocess.Popen(
                command, cwd=self.app_dir, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, CLASS_DB_ENV: self.db_url}, start_new_session=True,
                preexec_fn=_die_with_parent(signal.SIGTERM))
        self.say(f"replica {name}: 127.0.0.1:{port} (pid {self.procs[name].pid})")

    def start_haproxy(self) -> None:
        config = self.data / "haproxy.cfg"
        config.write_text(haproxy.render(self.ports, self.port, self.bind, self.stats_port))
        binary = haproxy.find()
        haproxy.check(binary, config)
        with self.logfile("haproxy") as log:
            self.procs["haproxy"] = subprocess.Popen(
                haproxy.command(binary, config), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent(signal.SIGTERM))
        self.say(f"haproxy: {self.bind}:{self.port} -> {len(self.ports)} replica(s); "
                 f"stats http://127.0.0.1:{self.stats_port}/; config {config}")

    def wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"{', '.join(dead)} exited" if dead else f"not up in {timeout:g} s"
                raise SystemExit(f"{what}: {why}; logs in {self.data / 'logs'}")
            time.sleep(0.5)

    def check(self) -> None:
        """Once a second while serving: a dead replica is restarted; HAProxy dead ends it."""
        if self.procs["haproxy"].poll() is not None:
            raise SystemExit(f"haproxy exited; see {self.data / 'logs' / 'haproxy.log'}")
        for i in range(self.replicas):
            code = self.procs[haproxy.server_name(i)].poll()
            if code is not None and self.restart:
                self.say(f"replica {haproxy.server_name(i)} exited ({code}): starting it again")
                self.start_replica(i)

    def stop(self, timeout: float = 15.0) -> None:
        """HAProxy, then the replicas (SIGTERM, then SIGKILL), then PostgreSQL."""
        order = ["haproxy", *(n for n in self.procs if n != "haproxy")]
        for name in order:
            if name in self.procs and self.procs[name].poll() is None:
                self.procs[name].terminate()
        for name in order:
            if name in self.procs:
                try:
                    self.procs[name].wait(timeout)
                except subprocess.TimeoutExpired:
                    self.procs[name].kill()
                    self.procs[name].wait()
        if self.cluster is not None:
            self.cluster.stop()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit processes")
    parser.add_argument("--port", type=int, default=8500, help="HAProxy's port (students' URL)")
    parser.add_argument("--bind", default="0.0.0.0", help="HAProxy's address (0.0.0.0: the LAN)")
    parser.add_argument("--first-replica-port", type=int, default=8601,
                        help="replica i listens on this + i, on 127.0.0.1")
    parser.add_argument("--stats-port", type=int, default=8404, help="HAProxy's stats page")
    parser.add_argument("--pg-port", type=int, default=5433, help="PostgreSQL's port")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "serve",
                        help="PostgreSQL's cluster, its password, the config and the logs")
    parser.add_argument("--db-url", default=None,
                        help="the class store's SQLAlchemy URL (None: PostgreSQL in --data)")
    parser.add_argument("--app-dir", type=Path, default=ROOT,
                        help="the checkout whose app.py the replicas run")
    parser.add_argument("--no-restart", action="store_true", help="leave a dead replica dead")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 32:
        parser.error("--replicas must be 1..32")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    deployment = Deployment(args.replicas, args.port, args.bind, args.first_replica_port,
                            args.stats_port, args.pg_port, args.data.resolve(), args.db_url,
                            args.app_dir.resolve(), restart=not args.no_restart)
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: stopping.append(number))
    deployment.start()
    deployment.say(f"\nserving on {deployment.url} (all addresses: {args.bind}:{args.port}); "
                   "Ctrl-C stops everything")
    try:
        while not stopping:
            deployment.check()
            time.sleep(1.0)
    finally:
        deployment.say("stopping: haproxy, the replicas, postgres")
        deployment.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
