"""Real server processes for tests, benchmarks and the chaos tool: `python server.py` children on free ports."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import tornado.httpclient

from runtime.local_services import free_port

REPO = Path(__file__).resolve().parent.parent


class ServerProcess:
    """One server child process sharing a database and Redis with its siblings."""

    def __init__(self, database_url: str, redis_url: str, *, namespace: str = "ems", var_dir: Path | None = None,
                 **env_overrides: str):
        self.port = free_port()
        var_dir = var_dir or REPO / "var"
        var_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "EMS_DATABASE_URL": database_url, "EMS_REDIS_URL": redis_url,
               "EMS_REDIS_NAMESPACE": namespace, "EMS_PORT": str(self.port), "EMS_DEMO": "false",
               "EMS_VAR_DIR": str(var_dir), "EMS_LOG_LEVEL": "WARNING", **env_overrides}
        self.log_path = var_dir / f"server-{self.port}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, str(REPO / "server.py")], env=env, cwd=REPO,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def ready(self, timeout_s: float = 60) -> ServerProcess:
        """Wait until /healthz answers 200; raises with the log tail if the process died."""
        client = tornado.httpclient.AsyncHTTPClient()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                response = await client.fetch(self.base_url + "/healthz", raise_error=False, request_timeout=2)
                if response.code == 200:
                    return self
            except (OSError, tornado.httpclient.HTTPClientError):  # not listening yet, or slow to answer
                pass
            await asyncio.sleep(0.2)
        raise TimeoutError(f"server on port {self.port} not ready in {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crashed host."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
