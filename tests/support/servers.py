"""Start and stop the real servers the tests and benchmarks talk to.

moto's S3 server runs as its own process on a free loopback port, so the
code under test reaches it over HTTP exactly as it would reach S3, and so
gtars (which holds the GIL) never shares a process with a server it needs.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url, process, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server for {url} did not start within {timeout} s")


class Server:
    """A server subprocess on 127.0.0.1, stopped by `stop`."""

    def __init__(self, command, port, log_path=None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        log = open(log_path or os.devnull, "wb")  # noqa: SIM115 (kept open while running)
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._log = log

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_moto(log_path=None):
    """Start moto's S3 server and return it once it answers."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    server = Server([str(moto), "-H", "127.0.0.1", "-p", str(port)], port, log_path)
    wait_for_http(f"{server.url}/moto-api/", server.process)
    return server


def start_range_server(root):
    """Serve ``root`` over HTTP with Range support, in its own process."""
    port = free_port()
    command = [sys.executable, "-m", "tests.support.range_server", str(root), str(port)]
    server = Server(command, port)
    wait_for_http(server.url + "/", server.process)
    return server


def fetch(url, timeout=30, data=None):
    """GET ``url`` (POST ``data`` if given); return (status, headers, body)
    whatever the status."""
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
