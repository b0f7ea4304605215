"""A PostgreSQL of the deployment's own: a cluster in the data folder, on 127.0.0.1 only.

The first start makes the cluster (initdb) with a user `explorer`, a random password kept in
<data>/postgres.secret (mode 600) and a database `explorer`; later starts reuse it, so the
class store survives a restart. TCP on 127.0.0.1 only, no Unix socket, scram passwords.
NB: postgres refuses to run as root: as root it runs as the system user `postgres`
(Debian's package makes it), which then owns <data>/postgres.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

USER = DATABASE = "explorer"
RUN_AS = "postgres"  # the system user postgres runs as when we are root


def bin_dir() -> Path | None:
    """The folder of postgres, initdb and pg_isready (PATH, then Debian's), or None."""
    for candidate in [shutil.which("postgres"), *sorted(
            glob.glob("/usr/lib/postgresql/*/bin/postgres"),
            key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
            reverse=True)]:
        if candidate and (Path(candidate).resolve().parent / "initdb").exists():
            return Path(candidate).resolve().parent
    return None


def _account() -> pwd.struct_passwd | None:
    """Who postgres runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        raise SystemExit(f"postgres refuses to run as root and there is no `{RUN_AS}` user: "
                         f"`useradd --system {RUN_AS}`, or give --db-url") from None


def _as_owner(account) -> dict:
    """Popen keywords that run a child as `account` (nothing when it is ourselves)."""
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@dataclass
class Cluster:
    """A cluster folder and the port it serves on; start() it, then stop() it."""

    data: Path  # the deployment's data folder: postgres/, postgres.secret, logs/
    port: int = 5433
    process: subprocess.Popen | None = None

    @property
    def folder(self) -> Path:
        return self.data / "postgres"

    def url(self) -> str:
        """The SQLAlchemy URL the replicas get (psycopg 3)."""
        password = (self.data / "postgres.secret").read_text().strip()
        return f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{self.port}/{DATABASE}"

    def _init(self, bins: Path, account) -> None:
        """initdb with a new random password; the database comes at first start."""
        secret = self.data / "postgres.secret"
        secret.write_text(secrets.token_urlsafe(24))
        secret.chmod(0o600)
        self.folder.mkdir(mode=0o700)
        pwfile = self.data / "postgres.pwfile"  # readable by postgres, gone after initdb
        pwfile.write_text(secret.read_text())
        pwfile.chmod(0o600)
        if account is not None:
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        done = subprocess.run(
            [str(bins / "initdb"), "-D", str(self.folder), "-U", USER, f"--pwfile={pwfile}",
             "--auth=scram-sha-256", "-E", "UTF8", "--no-locale"],
            capture_output=True, text=True, **_as_owner(account))
        pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            shutil.rmtree(self.folder, ignore_errors=True)  # so the next start tries again
            raise SystemExit(f"initdb failed in {self.folder}:\n{done.stdout}{done.stderr}")

    def start(self, max_connections: int = 100, timeout: float = 60.0,
              preexec_fn=None) -> str:
        """Make the cluster if new, start postgres, wait for it; the URL."""
        bins = bin_dir()
        if bins is None:
            raise SystemExit("PostgreSQL is missing: apt-get install -y postgresql, "
                             "or give --db-url")
        account = _account()
        self.data.mkdir(parents=True, exist_ok=True)
        fresh = not (self.folder / "PG_VERSION").exists()
        if fresh:
            self._init(bins, account)
        (self.data / "logs").mkdir(exist_ok=True)
        with open(self.data / "logs" / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(bins / "postgres"), "-D", str(self.folder), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                 "-c", f"max_connections={max_connections}"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=preexec_fn, **_as_owner(account))
        self._wait(bins, timeout)
        if fresh:
            self._psql(bins, f"CREATE DATABASE {DATABASE}")
        return self.url()

    def _env(self) -> dict:
        return {**os.environ, "PGPASSWORD": (self.data / "postgres.secret").read_text().strip()}

    def _wait(self, bins: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"postgres exited ({self.process.returncode}): see "
                                 f"{self.data / 'logs' / 'postgres.log'}")
            ready = subprocess.run([str(bins / "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                                    str(self.port), "-U", USER, "-d", "postgres"])
            if ready.returncode == 0:
                return
            time.sleep(0.3)
        raise SystemExit(f"postgres did not answer on port {self.port} in {timeout:g} s")

    def _psql(self, bins: Path, sql: str) -> None:
        done = subprocess.run([str(bins / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", USER, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                               "-c", sql], capture_output=True, text=True, env=self._env())
        if done.returncode != 0:
            raise SystemExit(f"psql failed: {sql}:\n{done.stderr}")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT: sessions end, what is committed is on disk)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(2)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
