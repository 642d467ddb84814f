"""ganeti-rapi on a real 2-node cluster: read resources, auth, errors, TLS, the daemon."""

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import warnings

import jsonschema

from ganeti_tw import constants as C, daemon_util, luxi
from ganeti_tw.rapi import rlib2
from tests.integration.rapi_util import RapiConnection, SharedClusterTestCase

# responses of a real Ganeti 3.0.2 RAPI (fake hypervisor, one node), the
# reference for field names and value types; copied here so a clone tests alone
SAMPLES = os.path.join(os.path.dirname(__file__), "data", "rapi-samples")
TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def _schema_for(document: dict, template: str, verb: str) -> dict:
    return document["paths"][template][verb]["responses"]["200"]["content"][
        "application/json"]["schema"]


class RapiReadTests(SharedClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.19."

    def class_setup(self) -> None:
        client = luxi.Client(self.cluster.paths(1).master_socket)
        job = client.submit_job([{"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "r1",
                                  "disk_template": "diskless", "os_type": "tiny",
                                  "pnode": "node2", "name_check": False, "ip_check": False}])
        deadline = time.monotonic() + 60
        while client.query_jobs([job], ["status"])[0][0] not in C.JOBS_FINALIZED:
            if time.monotonic() > deadline:
                raise AssertionError("instance r1 was not created")
            time.sleep(0.05)

    # resources -------------------------------------------------------------------

    def test_root_version_and_v2_lists(self):
        self.assertEqual(self.get("/"), (200, [{"name": "2", "uri": "/2"},
                                               {"name": "version", "uri": "/version"}]))
        self.assertEqual(self.get("/version"), (200, 2))
        status, names = self.get("/2")
        self.assertEqual(status, 200)
        self.assertIn({"name": "instances", "uri": "/2/instances"}, names)

    def test_features_are_those_of_ganeti_3(self):
        with open(os.path.join(SAMPLES, "features.json")) as fh:
            expected = json.load(fh)
        self.assertEqual(sorted(self.get("/2/features")[1]), sorted(expected))

    def test_info_carries_the_fields_tools_read(self):
        status, info = self.get("/2/info")
        self.assertEqual(status, 200)
        self.assertEqual(info["name"], "local-cluster")
        self.assertEqual(info["master"], "node1")
        self.assertEqual(info["default_hypervisor"], "fake")
        self.assertEqual(info["tags"], [])
        self.assertIn("minmax", info["ipolicy"])
        self.assertEqual(info["enabled_disk_templates"], ["diskless", "file", "sharedfile"])
        self.assertEqual(info["nicparams"]["default"]["link"], info["default_bridge"])

    def test_bulk_nodes_have_every_field_of_the_sample_with_its_type(self):
        self._compare_with_sample("/2/nodes?bulk=1", "nodes-bulk.json")
        nodes = self.get("/2/nodes?bulk=1")[1]
        self.assertEqual([n["name"] for n in nodes], ["node1", "node2"])
        self.assertEqual([n["role"] for n in nodes], ["M", "C"])
        self.assertEqual(nodes[1]["pinst_list"], ["r1"])
        self.assertEqual(len({n["group.uuid"] for n in nodes}), 1)

    def test_bulk_instances_have_every_field_of_the_sample_with_its_type(self):
        self._compare_with_sample("/2/instances?bulk=1", "instances-bulk.json")
        inst = self.get("/2/instances?bulk=1")[1][0]
        self.assertEqual((inst["name"], inst["pnode"], inst["status"], inst["admin_state"]),
                         ("r1", "node2", "running", "up"))
        self.assertEqual(inst["beparams"]["maxmem"], inst["beparams"]["memory"])

    def test_bulk_groups_have_every_field_of_the_sample_with_its_type(self):
        self._compare_with_sample("/2/groups?bulk=1", "groups-bulk.json")
        self.assertEqual(self.get("/2/groups")[1], [{"name": "default",
                                                     "uri": "/2/groups/default"}])
        group = self.get("/2/groups/default")[1]
        self.assertEqual((group["node_list"], group["ctime"]), (["node1", "node2"], 0))
        nodes = self.get("/2/nodes?bulk=1")[1]
        self.assertEqual(group["uuid"], nodes[0]["group.uuid"])
        self.fails(404, "GET", "/2/groups/other")

    def _compare_with_sample(self, path: str, sample: str) -> None:
        with open(os.path.join(SAMPLES, sample)) as fh:
            theirs = json.load(fh)[0]
        status, ours = self.get(path)
        self.assertEqual(status, 200)
        self.assertTrue(ours)
        for item in ours:
            self.assertEqual(sorted(theirs), sorted(item))
            for key, value in theirs.items():
                if value is None or item[key] is None:
                    continue  # null where the other side has a value: both are allowed
                same = (isinstance(item[key], (int, float)) and isinstance(value, (int, float))
                        and not isinstance(value, bool)) or type(item[key]) is type(value)
                self.assertTrue(same, "%s %s: %r vs sample %r" % (path, key, item[key], value))

    def test_lists_use_ids_and_uris(self):
        self.assertEqual(self.get("/2/nodes")[1], [{"id": "node1", "uri": "/2/nodes/node1"},
                                                   {"id": "node2", "uri": "/2/nodes/node2"}])
        self.assertEqual(self.get("/2/instances")[1], [{"id": "r1", "uri": "/2/instances/r1"}])
        jobs = self.get("/2/jobs")[1]
        self.assertTrue(jobs)
        self.assertIsInstance(jobs[0]["id"], int)
        self.assertEqual(jobs[0]["uri"], "/2/jobs/%d" % jobs[0]["id"])

    def test_single_objects_and_unknown_names(self):
        self.assertEqual(self.get("/2/nodes/node2")[1]["name"], "node2")
        self.assertEqual(self.get("/2/nodes/node2/role"), (200, "master-candidate"))
        self.assertEqual(self.get("/2/nodes/node1/role"), (200, "master"))
        self.assertEqual(self.get("/2/instances/r1")[1]["pnode"], "node2")
        for path in ("/2/nodes/node9", "/2/nodes/node9/role", "/2/nodes/node9/tags",
                     "/2/instances/nosuch", "/2/instances/nosuch/tags",
                     "/2/instances/nosuch/info", "/2/jobs/99999", "/2/nosuch", "/3"):
            self.fails(404, "GET", path)

    def test_job_and_os_and_tags(self):
        job = self.get("/2/jobs/1")[1]
        self.assertEqual((job["id"], job["status"]), (1, "success"))
        self.assertEqual(sorted(job), sorted(["id", "ops", "status", "summary", "opstatus",
                                              "opresult", "oplog", "received_ts", "start_ts",
                                              "end_ts"]))
        self.assertIn("tiny", self.get("/2/os")[1])
        self.assertEqual(self.get("/2/tags"), (200, []))
        self.assertEqual(self.get("/2/instances/r1/tags"), (200, []))

    def test_instance_info_and_console_through_jobs(self):
        job_id = self.get("/2/instances/r1/info")[1]
        result = self.wait_job(job_id)["opresult"][0]
        self.assertEqual(result["r1"]["run_state"], "up")
        console = self.get("/2/instances/r1/console")[1]
        self.assertEqual((console["instance"], console["kind"]), ("r1", "ssh"))
        self.assertIn("127.0.19.2", " ".join(console["command"]))

    def test_live_responses_match_the_openapi_document(self):
        document = self.get("/2/openapi.json")[1]
        from openapi_spec_validator import validate
        validate(document)
        checks = [("/", "/"), ("/version", "/version"), ("/2/info", "/2/info"),
                  ("/2/features", "/2/features"), ("/2/nodes", "/2/nodes"),
                  ("/2/nodes?bulk=1", "/2/nodes"), ("/2/nodes/node1", "/2/nodes/{node}"),
                  ("/2/nodes/node2/role", "/2/nodes/{node}/role"),
                  ("/2/instances?bulk=1", "/2/instances"),
                  ("/2/instances/r1", "/2/instances/{instance}"),
                  ("/2/groups?bulk=1", "/2/groups"), ("/2/groups/default", "/2/groups/{group}"),
                  ("/2/jobs", "/2/jobs"), ("/2/jobs?bulk=1", "/2/jobs"),
                  ("/2/jobs/1", "/2/jobs/{job_id}"), ("/2/tags", "/2/tags"),
                  ("/2/instances/r1/tags", "/2/instances/{instance}/tags")]
        for path, template in checks:
            status, data = self.get(path)
            self.assertEqual(status, 200, path)
            jsonschema.validate(data, _schema_for(document, template, "get"))
        status, error = self.get("/2/nosuch")
        jsonschema.validate(error, document["components"]["schemas"]["Error"])

    def test_openapi_describes_every_route_and_method(self):
        document = self.get("/2/openapi.json")[1]
        described = {(path, verb.upper()) for path, item in document["paths"].items()
                     for verb in item}
        served = {(route.template, verb) for route in rlib2.ROUTES for verb in route.methods}
        self.assertEqual(described, served)
        for needed in ("/2/instances/{instance}/disk/{disk_index}/grow", "/2/jobs/{job_id}/wait",
                       "/2/redistribute-config", "/2/nodes/{node}/evacuate"):
            self.assertIn(needed, document["paths"])

    # bad requests ------------------------------------------------------------------

    def test_bad_arguments_and_methods_are_400_naming_them(self):
        self.assertIn("bulk", self.fails(400, "GET", "/2/nodes?bulk=maybe"))
        self.assertIn("unsupported", self.fails(400, "POST", "/2/info", {}))
        self.assertIn("unsupported", self.fails(400, "PATCH", "/2/instances/r1"))
        self.assertIn("type", self.fails(400, "POST", "/2/instances/r1/reboot?type=warm"))
        self.assertIn("tag", self.fails(400, "PUT", "/2/tags"))
        self.assertIn("invalid JSON", self.fails(400, "PUT", "/2/instances/r1/modify",
                                                 raw=b"{not json"))
        self.assertIn("body.beparams.memory", self.fails(
            400, "PUT", "/2/instances/r1/modify", {"beparams": {"memory": "lots"}}))
        self.assertIn("unknown field 'colour'", self.fails(
            400, "PUT", "/2/instances/r1/modify", {"colour": "red"}))
        self.assertIn("body", self.fails(400, "PUT", "/2/instances/r1/modify", raw=b"[1, 2]"))

    # authentication ----------------------------------------------------------------

    def test_auth_matrix(self):
        path = "/2/instances/r1/tags?tag=auth&dry-run=1"
        self.assertEqual(self.get("/2/info")[0], 200)  # GET is open
        status, _, headers = self.rapi.request("PUT", path)
        self.assertEqual(status, 401)
        self.assertEqual(headers["www-authenticate"], 'Basic realm="Ganeti Remote API"')
        self.fails(401, "PUT", path, user=("writer", "wrong"))
        self.fails(401, "GET", "/2/info", user=("writer", "wrong"))
        self.fails(401, "PUT", path, user=("nobody", "wsecret"))
        self.assertIn("reader", self.fails(403, "PUT", path, user=("reader", "rsecret")))
        self.fails(403, "PUT", path, user=("reader3", "r3secret"))
        self.ok("GET", "/2/info", user=("reader3", "r3secret"))
        self.ok("PUT", path, user=("writer", "wsecret"))
        self.ok("PUT", path, user=("ha1user", "hsecret"))
        self.fails(401, "PUT", path, user=("ha1user", "wrong"))
        log = open(self.cluster.paths(1).daemon_log(C.DAEMON_RAPI)).read()
        self.assertIn("Failed RAPI login for user 'nobody' from 127.0.", log)

    def test_users_file_change_applies_without_restart(self):
        path = "/2/instances/r1/tags?tag=auth&dry-run=1"
        self.addCleanup(self.write_users, open(self.cluster.paths(1).rapi_users).read())
        self.write_users("writer newpass write\nreader rsecret write\n")
        self.fails(401, "PUT", path, user=("writer", "wsecret"))
        self.ok("PUT", path, user=("writer", "newpass"))
        self.ok("PUT", path, user=("reader", "rsecret"))
        os.unlink(self.cluster.paths(1).rapi_users)
        self.fails(401, "PUT", path, user=("writer", "newpass"))

    def test_require_authentication_closes_reads(self):
        proc = subprocess.Popen(TWISTD + ["-n", "--pidfile=", "ganeti-rapi", "--root",
                                          self.cluster.root(1), "-p", "5081",
                                          "--require-authentication"],
                                env=daemon_util.daemon_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.terminate)
        _wait_port(self.cluster.ip(1), 5081)
        conn = RapiConnection(self.cluster.ip(1), 5081)
        self.addCleanup(conn.close)
        self.assertEqual(conn.request("GET", "/2/info")[0], 401)
        self.assertEqual(conn.request("GET", "/2/info", user=("reader", "rsecret"))[0], 200)

    # transport and daemon ----------------------------------------------------------

    def test_plain_http_on_the_https_port_gets_no_http_answer(self):
        with socket.create_connection((self.cluster.ip(1), C.RAPI_PORT), timeout=10) as sock:
            sock.sendall(b"GET /2/info HTTP/1.0\r\nHost: x\r\n\r\n")
            answer = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        self.assertFalse(answer.startswith(b"HTTP/"), answer[:40])

    def test_tls_older_than_1_2_is_refused(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        context.set_ciphers("ALL:@SECLEVEL=0")  # so that this client offers TLS 1.1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection((self.cluster.ip(1), C.RAPI_PORT), timeout=10) as sock:
            with self.assertRaises(ssl.SSLError) as caught:
                context.wrap_socket(sock).close()
        # the server's protocol_version alert, not a refusal of the client's own
        self.assertIn("PROTOCOL_VERSION", str(caught.exception))

    def test_refuses_to_start_on_a_non_master_node(self):
        proc = subprocess.run(TWISTD + ["-n", "--pidfile=", "ganeti-rapi", "--root",
                                        self.cluster.root(2), "-p", "5082"],
                              env=daemon_util.daemon_env(), capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(proc.returncode, C.EXIT_NOTMASTER)
        self.assertIn("ganeti-rapi: this node (node2) is not the master; the remote API runs "
                      "on the master, node1", proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def test_zz_queue_drained_is_503_and_masterd_down_is_502(self):
        client = luxi.Client(self.cluster.paths(1).master_socket)
        client.set_drain_flag(True)
        try:
            self.fails(503, "PUT", "/2/tags?tag=x")
        finally:
            client.set_drain_flag(False)
        paths = self.cluster.paths(1)
        daemon_util.stop_daemon(paths, C.DAEMON_MASTERD)
        try:
            self.assertIn("master daemon", self.fails(502, "GET", "/2/info"))
        finally:
            daemon_util.start_daemon(paths, C.DAEMON_MASTERD, ["--no-voting", "--yes-do-it"])
        self.assertEqual(self.get("/2/info")[0], 200)


def _wait_port(host: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on %s:%d" % (host, port))
