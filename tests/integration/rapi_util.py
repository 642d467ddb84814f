"""Helpers of the RAPI integration tests: one cluster per test class, an HTTPS client."""

import atexit
import base64
import http.client
import json
import os
import shutil
import ssl
import tempfile
from typing import Any, Dict, Optional, Tuple

from twisted.trial import unittest

from ganeti_tw import constants as C
from ganeti_tw.local_cluster import LocalCluster

USERS = ("# Ganeti 2.0 and 3 formats\n"
         "writer wsecret write\n"
         "reader rsecret\n"
         "reader3 {cleartext}r3secret read\n"
         "ha1user {HA1}%s write\n")


def https_context() -> ssl.SSLContext:
    """What Ganeti's clients do: TLS without checking the (self-signed) certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class RapiConnection:
    """One keep-alive HTTPS connection to a RAPI daemon."""

    def __init__(self, host: str, port: int = C.RAPI_PORT, tls: bool = True):
        if tls:
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=60, context=https_context())
        else:
            self.conn = http.client.HTTPConnection(host, port, timeout=60)

    def request(self, method: str, path: str, body: Any = None,
                user: Optional[Tuple[str, str]] = None, raw: Optional[bytes] = None,
                ) -> Tuple[int, Any, Dict[str, str]]:
        """(status, decoded JSON answer, headers)."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if user is not None:
            token = base64.b64encode(("%s:%s" % user).encode()).decode()
            headers["Authorization"] = "Basic " + token
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else None, \
            {k.lower(): v for k, v in response.getheaders()}

    def close(self) -> None:
        self.conn.close()


class SharedClusterTestCase(unittest.SynchronousTestCase):
    """A real local cluster shared by every test of the class (started once, stopped after
    the last test, or at exit when only some tests run)."""

    NODES = 2
    BASE_IP = "127.0.19."
    cluster: LocalCluster
    _shared: Dict[type, Any] = {}

    def setUp(self) -> None:
        cls = type(self)
        state = self._shared.get(cls)
        if state is None:
            tmpdir = tempfile.mkdtemp(prefix="gtw-", dir="/tmp")
            cluster = LocalCluster(tmpdir, cls.NODES, cls.BASE_IP, verbose=False)
            atexit.register(_destroy, cluster, tmpdir)
            cluster.up()
            remaining = len([n for n in dir(cls) if n.startswith("test_")])
            state = self._shared[cls] = {"cluster": cluster, "tmpdir": tmpdir,
                                         "remaining": remaining}
            self.cluster = cluster
            self.write_users(USERS % _ha1("ha1user", "hsecret"))
            self.class_setup()
        self.cluster = state["cluster"]
        self.addCleanup(self._test_done, state)
        self.rapi = RapiConnection(self.cluster.ip(1))
        self.addCleanup(self.rapi.close)

    def class_setup(self) -> None:
        """Shared state the class's tests need, created once after the cluster is up."""

    def _test_done(self, state: Dict[str, Any]) -> None:
        state["remaining"] -= 1
        if state["remaining"] == 0:
            _destroy(state["cluster"], state["tmpdir"])

    def write_users(self, text: str) -> None:
        path = self.cluster.paths(1).rapi_users
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".new"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)

    def get(self, path: str, **kwargs: Any) -> Tuple[int, Any]:
        status, data, _ = self.rapi.request("GET", path, **kwargs)
        return status, data

    def ok(self, method: str, path: str, body: Any = None,
           user: Tuple[str, str] = ("writer", "wsecret")) -> Any:
        status, data, _ = self.rapi.request(method, path, body, user=user)
        self.assertEqual(status, 200, "%s %s: %s %r" % (method, path, status, data))
        return data

    def fails(self, status: int, method: str, path: str, body: Any = None,
              user: Tuple[str, str] = ("writer", "wsecret"), raw: Optional[bytes] = None) -> str:
        """The request is answered ``status`` with a Ganeti error object; returns its text."""
        got, data, _ = self.rapi.request(method, path, body, user=user, raw=raw)
        self.assertEqual(got, status, "%s %s: %s %r" % (method, path, got, data))
        self.assertEqual(sorted(data), ["code", "explain", "message"])
        self.assertEqual(data["code"], status)
        return data["explain"]

    def wait_job(self, job_id: int, timeout: float = 60) -> Dict[str, Any]:
        """Follow the job with /2/jobs/<id>/wait until it ends; returns GET /2/jobs/<id>."""
        import time
        deadline = time.monotonic() + timeout
        info = None
        while time.monotonic() < deadline:
            change = self.ok("GET", "/2/jobs/%d/wait" % job_id,
                             {"fields": ["status"], "previous_job_info": info,
                              "previous_log_serial": None})
            if change is not None:
                info = change["job_info"]
                if info[0] in C.JOBS_FINALIZED:
                    return self.ok("GET", "/2/jobs/%d" % job_id)
        self.fail("job %d did not end within %ds" % (job_id, timeout))

    def run_job(self, method: str, path: str, body: Any = None) -> Dict[str, Any]:
        """Submit through RAPI and wait; the job must succeed."""
        job_id = self.ok(method, path, body)
        self.assertIsInstance(job_id, int)
        job = self.wait_job(job_id)
        self.assertEqual(job["status"], "success", "%s %s: %r" % (method, path, job))
        return job


def _ha1(name: str, password: str) -> str:
    from ganeti_tw.rapi.users import ha1
    return ha1(name, password)


def _destroy(cluster: LocalCluster, tmpdir: str) -> None:
    if os.path.isdir(tmpdir):
        cluster.down()
        shutil.rmtree(tmpdir, True)
