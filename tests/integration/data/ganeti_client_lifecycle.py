"""Run by Debian's /usr/bin/python3 with Ganeti's own RAPI client (python3-ganeti-rapi).

Drives a full instance lifecycle against ganeti-rapi and prints one JSON
object of what it saw; the trial test checks it. Usage: HOST USER PASSWORD.
"""

import json
import sys

from ganeti.rapi import client

host, user, password = sys.argv[1:4]
rapi = client.GanetiRapiClient(host, 5080, user, password)
NAME = "lc1.example.com"
seen = {"version": rapi.GetVersion(), "features": rapi.GetFeatures(),
        "cluster": rapi.GetInfo()["name"], "nodes": rapi.GetNodes(),
        "nodes_bulk": [n["name"] for n in rapi.GetNodes(bulk=True)],
        "instances_before": rapi.GetInstances()}
steps = []


def step(name, job_id):
    done = rapi.WaitForJobCompletion(job_id, period=0.1, retries=600)
    steps.append([name, job_id, done, rapi.GetJobStatus(job_id)["status"]])


step("create", rapi.CreateInstance("create", NAME, "sharedfile", [{"size": 8}], [{}],
                                   os="tiny", pnode="node1", ip_check=False,
                                   name_check=False, beparams={"memory": 64}))
seen["after_create"] = rapi.GetInstance(NAME)["status"]
step("shutdown", rapi.ShutdownInstance(NAME))
seen["after_shutdown"] = rapi.GetInstance(NAME)["status"]
step("startup", rapi.StartupInstance(NAME))
step("reboot", rapi.RebootInstance(NAME, reboot_type="hard"))
step("reinstall", rapi.ReinstallInstance(NAME, os="tiny"))
step("migrate", rapi.MigrateInstance(NAME, target_node="node2"))
seen["after_migrate"] = rapi.GetInstance(NAME)["pnode"]
step("failover", rapi.FailoverInstance(NAME, target_node="node1"))
seen["after_failover"] = rapi.GetInstance(NAME)["pnode"]
step("modify", rapi.ModifyInstance(NAME, beparams={"memory": 96}))
seen["memory"] = rapi.GetInstance(NAME)["beparams"]["memory"]
step("add-tags", rapi.AddInstanceTags(NAME, ["env:test", "team"]))
step("delete-tags", rapi.DeleteInstanceTags(NAME, ["team"]))
seen["tags"] = rapi.GetInstanceTags(NAME)
seen["instances_bulk"] = [i["name"] for i in rapi.GetInstances(bulk=True)]
step("remove", rapi.DeleteInstance(NAME))
seen["instances_after"] = rapi.GetInstances()
seen["steps"] = steps
print(json.dumps(seen))
