"""ganeti-rapi writes on a real 2-node cluster: every write resource, dry-run, bad bodies."""

from ganeti_tw import luxi
from tests.integration.rapi_util import SharedClusterTestCase

CREATE_V1 = {"__version__": 1, "mode": "create", "name": "w1", "disk_template": "sharedfile",
             "disks": [{"size": 8}], "nics": [{}], "os": "tiny", "pnode": "node1",
             "ip_check": False, "name_check": False, "beparams": {"maxmem": 64},
             "start": True}


class RapiWriteTests(SharedClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.20."

    def instance(self, name: str) -> dict:
        return self.ok("GET", "/2/instances/%s" % name)

    def test_instance_lifecycle_through_every_instance_resource(self):
        job = self.run_job("POST", "/2/instances", CREATE_V1)
        self.assertEqual(job["ops"][0]["OP_ID"], "OP_INSTANCE_CREATE")
        inst = self.instance("w1")
        self.assertEqual((inst["status"], inst["pnode"], inst["beparams"]["memory"],
                          inst["disk.sizes"]), ("running", "node1", 64, [8]))

        self.run_job("PUT", "/2/instances/w1/shutdown", {})
        self.assertEqual(self.instance("w1")["status"], "ADMIN_down")
        self.run_job("PUT", "/2/instances/w1/startup")
        self.assertEqual(self.instance("w1")["status"], "running")
        for kind in ("soft", "hard", "full"):
            self.run_job("POST", "/2/instances/w1/reboot?type=%s" % kind)
        job = self.run_job("POST", "/2/instances/w1/reinstall", {"os": "tiny", "start": True})
        self.assertEqual([op["OP_ID"] for op in job["ops"]],
                         ["OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REINSTALL",
                          "OP_INSTANCE_STARTUP"])
        self.assertEqual(self.instance("w1")["status"], "running")

        self.run_job("PUT", "/2/instances/w1/migrate", {"target_node": "node2"})
        self.assertEqual(self.instance("w1")["pnode"], "node2")
        self.run_job("PUT", "/2/instances/w1/failover", {"target_node": "node1"})
        self.assertEqual(self.instance("w1")["pnode"], "node1")

        self.run_job("PUT", "/2/instances/w1/modify",
                     {"beparams": {"memory": 96}, "disks": [["add", -1, {"size": 4}]]})
        inst = self.instance("w1")
        self.assertEqual((inst["beparams"]["memory"], inst["disk.sizes"]), (96, [8, 4]))
        self.run_job("POST", "/2/instances/w1/disk/0/grow", {"amount": 8})
        self.assertEqual(self.instance("w1")["disk.sizes"], [16, 4])
        self.run_job("PUT", "/2/instances/w1/activate-disks?ignore_size=1")
        self.run_job("PUT", "/2/instances/w1/shutdown", {})
        self.run_job("PUT", "/2/instances/w1/deactivate-disks")

        self.run_job("PUT", "/2/instances/w1/rename",
                     {"new_name": "w2", "ip_check": False, "name_check": False})
        self.fails(404, "GET", "/2/instances/w1")
        self.run_job("DELETE", "/2/instances/w2")
        self.assertEqual(self.ok("GET", "/2/instances"), [])

    def test_create_with_the_ganeti_2_0_body(self):
        self.run_job("POST", "/2/instances",
                     {"name": "old1", "disk_template": "diskless", "os": "tiny", "disks": [],
                      "pnode": "node2", "ip_check": False, "name_check": False,
                      "memory": 48, "start": False,
                      "bridge": "br-test"})
        inst = self.instance("old1")
        self.assertEqual((inst["beparams"]["memory"], inst["nic.bridges"], inst["admin_state"]),
                         (48, ["br-test"], "down"))
        self.run_job("DELETE", "/2/instances/old1")

    def test_dry_run_validates_and_queues_nothing(self):
        jobs_before = self.ok("GET", "/2/jobs")
        ops = self.ok("POST", "/2/instances?dry-run=1", CREATE_V1)
        self.assertEqual(ops[0]["OP_ID"], "OP_INSTANCE_CREATE")
        self.assertEqual(ops[0]["beparams"], {"memory": 64})
        self.assertEqual(self.ok("GET", "/2/jobs"), jobs_before)
        self.fails(404, "GET", "/2/instances/w1")
        self.assertIn("Diskless instances cannot have disks", self.fails(
            400, "POST", "/2/instances?dry-run=1",
            dict(CREATE_V1, disk_template="diskless")))

    def test_tags_of_cluster_node_and_instance(self):
        for base in ("/2/tags", "/2/nodes/node2/tags"):
            self.run_job("PUT", base + "?tag=a:1&tag=b")
            self.assertEqual(sorted(self.ok("GET", base)), ["a:1", "b"])
            self.run_job("DELETE", base + "?tag=a:1")
            self.assertEqual(self.ok("GET", base), ["b"])
        self.assertEqual(self.ok("GET", "/2/info")["tags"], ["b"])
        self.assertIn("invalid characters", self.fails(400, "PUT", "/2/tags?tag=no%20spaces"))
        self.fails(404, "PUT", "/2/instances/nosuch/tags?tag=x")

    def test_node_role_modify_and_redistribute_config(self):
        self.run_job("PUT", "/2/nodes/node2/role?force=1", "drained")
        self.assertEqual(self.ok("GET", "/2/nodes/node2/role"), "drained")
        self.run_job("PUT", "/2/nodes/node2/role", "master-candidate")
        self.assertEqual(self.ok("GET", "/2/nodes/node2/role"), "master-candidate")
        self.run_job("POST", "/2/nodes/node2/modify?force=1", {"drained": True})
        self.assertTrue(self.ok("GET", "/2/nodes/node2")["drained"])
        self.run_job("POST", "/2/nodes/node2/modify", {"master_candidate": True,
                                                       "drained": False})
        self.assertEqual(self.ok("GET", "/2/nodes/node2")["role"], "C")
        for role in ("master", "boss"):
            self.assertIn("must be one of drained, master-candidate, offline, regular",
                          self.fails(400, "PUT", "/2/nodes/node2/role", role))
        self.assertIn("expected string", self.fails(400, "PUT", "/2/nodes/node2/role", 1))
        self.run_job("PUT", "/2/redistribute-config")

    def test_node_migrate_and_evacuate_move_every_primary_instance(self):
        for name in ("m1", "m2"):
            self.run_job("POST", "/2/instances", dict(CREATE_V1, name=name))
        job = self.run_job("POST", "/2/nodes/node1/migrate", {"target_node": "node2"})
        self.assertEqual([op["OP_ID"] for op in job["ops"]], ["OP_INSTANCE_MIGRATE"] * 2)
        self.assertEqual(self.ok("GET", "/2/nodes/node2")["pinst_list"], ["m1", "m2"])
        self.run_job("POST", "/2/nodes/node2/evacuate", {"remote_node": "node1"})
        self.assertEqual(self.ok("GET", "/2/nodes/node2")["pinst_cnt"], 0)
        self.assertIn("no primary instances", self.fails(400, "POST",
                                                         "/2/nodes/node2/evacuate", {}))
        for name in ("m1", "m2"):
            self.run_job("DELETE", "/2/instances/%s" % name)

    def test_job_cancel_and_wait(self):
        client = luxi.Client(self.cluster.paths(1).master_socket)
        delay = {"OP_ID": "OP_TEST_DELAY", "duration": 2, "on_master": False,
                 "on_nodes": ["node2"]}
        holder = int(client.submit_job([delay]))
        waiting = int(client.submit_job([dict(delay, duration=0)]))  # waits for node2's lock
        success, message = self.ok("DELETE", "/2/jobs/%d" % waiting)
        self.assertTrue(success, message)
        self.assertEqual(self.wait_job(waiting)["status"], "canceled")
        self.assertFalse(self.ok("DELETE", "/2/jobs/%d" % holder)[0])  # running: too late
        self.assertEqual(self.wait_job(holder)["status"], "success")
        self.fails(404, "DELETE", "/2/jobs/987654")
        self.fails(404, "GET", "/2/jobs/987654/wait", {"fields": ["status"]})
        self.assertIn("fields", self.fails(400, "GET", "/2/jobs/%d/wait" % holder,
                                           {"fields": ["colour"]}))

    def test_bad_bodies_are_400_naming_the_field(self):
        cases = [
            (dict(CREATE_V1, disks=[{"size": "big"}]), "body.disks[0].size"),
            (dict(CREATE_V1, colour="red"), "unknown field 'colour'"),
            (dict(CREATE_V1, nics=[{"vlan": "5"}]), "body.nics[0]"),
            (dict(CREATE_V1, __version__=2), "__version__"),
            ({k: v for k, v in CREATE_V1.items() if k != "disk_template"}, "disk_template"),
            ({"name": "x", "os": "tiny", "disks": [1]}, "disk_template"),
            ({"name": "x", "os": "tiny", "disks": "1", "disk_template": "file"}, "body.disks"),
            (dict(CREATE_V1, beparams={"memory": True}), "body.beparams.memory"),
            (["not", "an", "object"], "body"),
            (None, "body"),
        ]
        for body, field in cases:
            self.assertIn(field, self.fails(400, "POST", "/2/instances", body), body)
        self.assertIn("amount", self.fails(400, "POST", "/2/instances/x/disk/0/grow", {}))
        self.assertIn("new_name", self.fails(400, "PUT", "/2/instances/x/rename", {}))
        self.fails(404, "PUT", "/2/instances/nosuch/rename", {"new_name": "y"})
        self.fails(404, "POST", "/2/instances/nosuch/reboot")
        self.fails(404, "PUT", "/2/nodes/node9/role", "drained")

    def test_write_answers_match_the_openapi_document(self):
        import jsonschema
        document = self.ok("GET", "/2/openapi.json")

        def schema(template: str, verb: str) -> dict:
            return document["paths"][template][verb]["responses"]["200"]["content"][
                "application/json"]["schema"]

        jsonschema.validate(self.ok("POST", "/2/instances?dry-run=1", CREATE_V1),
                            schema("/2/instances", "post"))
        job_id = self.ok("PUT", "/2/tags?tag=doc")
        jsonschema.validate(job_id, schema("/2/tags", "put"))
        change = self.ok("GET", "/2/jobs/%d/wait" % job_id,
                         {"fields": ["status", "summary"], "previous_job_info": None,
                          "previous_log_serial": None})
        jsonschema.validate(change, schema("/2/jobs/{job_id}/wait", "get"))
        self.wait_job(job_id)
        jsonschema.validate(self.ok("DELETE", "/2/jobs/%d" % job_id),
                            schema("/2/jobs/{job_id}", "delete"))
        jsonschema.validate(self.ok("GET", "/2/jobs/%d" % job_id),
                            schema("/2/jobs/{job_id}", "get"))
        self.run_job("DELETE", "/2/tags?tag=doc")
