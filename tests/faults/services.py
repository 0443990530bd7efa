"""Private PostgreSQL, Redis, Celery worker and gunicorn processes for the fault tests.

Every process here is started by the fault tests themselves, in a temporary directory and on free ports, so the
tests may kill and restart them. The machine's shared PostgreSQL and Redis are never touched. initdb and postgres
refuse to run as root: as root, they run as the ``postgres`` OS user (trust authentication, local only).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ServiceMissing(RuntimeError):
    """A binary the fault tests need is not installed."""


class ServiceFailed(RuntimeError):
    """A private service did not start, stop or answer in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass (ServiceFailed)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ServiceFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --- Redis ---------------------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """``redis-server`` on a free port, nothing saved to disk: a restart comes back empty."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None  # type: ignore[type-arg]

    @staticmethod
    def binary() -> str:
        found = shutil.which("redis-server")
        if not found:
            raise ServiceMissing("redis-server is not on the PATH")
        return found

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def client(self, db: int = 0):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_connect_timeout=2, socket_timeout=5)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("a")
        argv = [self.binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.workdir), "--pidfile", str(self.workdir / "redis.pid")]
        for _attempt in range(3):  # the port of a killed server can take a moment to be free again
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
            try:
                wait_until(lambda: self.ping() or self.proc.poll() is not None, timeout=10, what="redis-server")
            except ServiceFailed:
                self.kill()
                raise
            if self.proc.poll() is None:
                return
            time.sleep(1)
        raise ServiceFailed(f"redis-server did not start on port {self.port}:\n{_tail(self.workdir / 'redis.log')}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save (and there is nothing on disk to load back)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


# --- PostgreSQL ----------------------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl live: ``pg_config --bindir``, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise ServiceMissing("no PostgreSQL server binaries (initdb, pg_ctl) found")


@dataclass
class PrivatePostgres:
    """A throwaway cluster: initdb into a temporary directory, trust authentication, fsync off."""

    workdir: Path
    port: int = field(default_factory=free_port)
    bindir: Path = field(default_factory=postgres_bindir)
    run_as: str | None = None

    def __post_init__(self) -> None:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise ServiceMissing("running as root and there is no 'postgres' OS user to run PostgreSQL") from None
            self.run_as = "postgres"
            self.runuser()

    @property
    def datadir(self) -> Path:
        return self.workdir / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.workdir / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    @property
    def pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def runuser() -> str:
        for found in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
            if found and Path(found).is_file():
                return found
        raise ServiceMissing("running as root and runuser is not installed")

    def _run(self, *argv: str, timeout: float = 60) -> None:
        command = list(argv)
        if self.run_as:
            command = [self.runuser(), "-u", self.run_as, "--", *command]
        out = subprocess.run(  # noqa: S603
            command, cwd=self.workdir, capture_output=True, text=True, timeout=timeout, check=False
        )
        if out.returncode != 0:
            raise ServiceFailed(
                f"{' '.join(argv[:2])} failed ({out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-2000:]}\n"
                f"{_tail(self.logfile)}"
            )

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            owner = pwd.getpwnam(self.run_as)
            os.chown(self.workdir, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "-N",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


# --- application processes ---------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    return sorted(int(p) for p in out.stdout.split())


@dataclass
class AppProcess:
    """A process of the application (Celery worker, gunicorn) in its own process group, logging to a file."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    log_path: Path
    ready_text: str
    pid_dir: Path | None = None  # a file per started process group, for scripts/test-faults.sh's clean-up trap
    proc: subprocess.Popen | None = None  # type: ignore[type-arg]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, *, timeout: float = 60) -> AppProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = len(self.log_text())
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(  # noqa: S603
                self.argv, cwd=ROOT, env=dict(self.env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if self.pid_dir is not None:
            self.pid_dir.mkdir(parents=True, exist_ok=True)
            (self.pid_dir / f"{self.proc.pid}.pgid").write_text(str(self.proc.pid))
        try:
            wait_until(
                lambda: self.ready_text in self.log_text()[offset:] or self.proc.poll() is not None,
                timeout=timeout,
                interval=0.2,
                what=f"{self.name} to start",
            )
        except ServiceFailed:
            self.kill_group()
            raise
        if self.proc.poll() is not None:
            raise ServiceFailed(f"{self.name} exited ({self.proc.returncode}):\n{self.log_text()[-3000:]}")
        return self

    def children(self) -> list[int]:
        return children_of(self.pid)

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise ServiceFailed(f"{self.name} exited ({self.proc.returncode}):\n{self.log_text()[-3000:]}")

    def kill_group(self) -> None:
        """SIGKILL the process and everything it started (it leads its own process group)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self.pid_dir is not None:
            (self.pid_dir / f"{self.proc.pid}.pgid").unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        self.kill_group()  # whatever is left of the group (orphaned pool children)


def celery_worker(
    *, env: Mapping[str, str], queue: str, log_path: Path, pid_dir: Path | None = None, concurrency: int = 2
) -> AppProcess:
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-c", str(concurrency)]
    argv += ["--pool", "prefork", "-n", f"{queue}-{log_path.stem}@%h", "-l", "info", "--without-gossip"]
    argv += ["--without-mingle", "--without-heartbeat"]
    return AppProcess(name="celery worker", argv=argv, env=env, log_path=log_path, ready_text="ready.", pid_dir=pid_dir)


def gunicorn(
    *, env: Mapping[str, str], port: int, log_path: Path, pid_dir: Path | None = None, workers: int = 2
) -> AppProcess:
    argv = [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    argv += ["--timeout", "30", "--graceful-timeout", "5", "--log-level", "info", "--no-control-socket"]
    return AppProcess(
        name="gunicorn", argv=argv, env=env, log_path=log_path, ready_text="Listening at", pid_dir=pid_dir
    )
