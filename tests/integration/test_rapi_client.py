"""Ganeti's own RAPI client library against ganeti-rapi, and a fuzz run of the API."""

import json
import os
import subprocess
import unittest as pyunit

from tests.integration.rapi_util import SharedClusterTestCase

GANETI_PYTHON = "/usr/bin/python3"
GANETI_CLIENT = "/usr/lib/python3/dist-packages/ganeti/rapi/client.py"
SCRIPT = os.path.join(os.path.dirname(__file__), "data", "ganeti_client_lifecycle.py")


class GanetiClientTests(SharedClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.21."

    def test_full_instance_lifecycle_through_ganeti_rapi_client(self):
        if not os.path.exists(GANETI_CLIENT):
            raise pyunit.SkipTest("python3-ganeti-rapi is not installed (scripts/setup-env.sh "
                                  "installs it)")
        proc = subprocess.run([GANETI_PYTHON, SCRIPT, self.cluster.ip(1), "writer", "wsecret"],
                              capture_output=True, text=True, timeout=170,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        seen = json.loads(proc.stdout)
        self.assertEqual(seen["version"], 2)
        self.assertIn("instance-create-reqv1", seen["features"])
        self.assertEqual(seen["cluster"], "local-cluster")
        self.assertEqual((seen["nodes"], seen["nodes_bulk"]), (["node1", "node2"],) * 2)
        self.assertEqual(seen["instances_before"], [])
        for name, job_id, done, status in seen["steps"]:
            self.assertIsInstance(job_id, int, name)
            self.assertEqual((name, done, status), (name, True, "success"))
        self.assertEqual([s[0] for s in seen["steps"]],
                         ["create", "shutdown", "startup", "reboot", "reinstall", "migrate",
                          "failover", "modify", "add-tags", "delete-tags", "remove"])
        self.assertEqual((seen["after_create"], seen["after_shutdown"]),
                         ("running", "ADMIN_down"))
        self.assertEqual((seen["after_migrate"], seen["after_failover"]), ("node2", "node1"))
        self.assertEqual(seen["memory"], 96)
        self.assertEqual(seen["tags"], ["env:test"])
        self.assertEqual(seen["instances_bulk"], ["lc1.example.com"])
        self.assertEqual(seen["instances_after"], [])


# fuzz: requests generated from the served OpenAPI document ------------------------

from urllib.parse import quote, urlencode  # noqa: E402

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 10**5) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def from_schema(schema: dict) -> st.SearchStrategy:
    """Values that (mostly) satisfy a JSON Schema of the subset ganeti-rapi uses."""
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of([from_schema(s) for s in schema.get("anyOf", schema.get("oneOf"))])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema(dict(schema, type=k)) for k in kind])
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) < 30)
        return st.sampled_from(["tiny", "node1", "node2", "file", "x"]) | st.text(max_size=10)
    if kind in ("integer", "number"):
        return st.integers(schema.get("minimum", -3), 10**5)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=3)
    if kind == "object" and schema.get("properties"):
        props = schema["properties"]
        required = set(schema.get("required", []))
        return st.fixed_dictionaries({k: from_schema(props[k]) for k in required},
                                     optional={k: from_schema(v) for k, v in props.items()
                                               if k not in required})
    return _JSON


def _requests(document: dict) -> st.SearchStrategy:
    cases = []
    for template, item in sorted(document["paths"].items()):
        for verb, operation in sorted(item.items()):
            cases.append(st.builds(
                _request, st.just(template), st.just(verb.upper()),
                st.fixed_dictionaries({
                    p["name"]: st.sampled_from(["node1", "node2", "0", "1", "default"])
                    | from_schema(p["schema"])
                    for p in operation["parameters"] if p["in"] == "path"}),
                st.lists(st.sampled_from([p for p in operation["parameters"]
                                          if p["in"] == "query"]).flatmap(
                    lambda p: st.tuples(st.just(p["name"]),
                                        from_schema(p["schema"]) | st.text(max_size=5))),
                    max_size=3),
                st.one_of(from_schema(operation["requestBody"]["content"]["application/json"]
                                      ["schema"]) if "requestBody" in operation else st.none(),
                          _JSON, st.none())))
    return st.one_of(cases)


def _request(template: str, verb: str, items: dict, query: list, body: object) -> tuple:
    path = template
    for name, value in items.items():
        path = path.replace("{%s}" % name, quote(str(value), safe=""))
    pairs = []
    for name, value in query:
        for one in (value if isinstance(value, list) else [value]):
            pairs.append((name, str(one)))
    return verb, path + ("?" + urlencode(pairs) if pairs else ""), body


class RapiFuzzTests(SharedClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.21."

    def test_generated_requests_never_get_a_server_error(self):
        document = self.ok("GET", "/2/openapi.json")
        statuses = []

        @settings(max_examples=250, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(_requests(document))
        def check(request):
            verb, path, body = request
            status, data, _ = self.rapi.request(verb, path, body, user=("writer", "wsecret"))
            statuses.append(status)
            self.assertLess(status, 500, "%s %s %r -> %s %r" % (verb, path, body, status, data))
            if status != 200:
                self.assertEqual(sorted(data), ["code", "explain", "message"])

        check()
        # the run reached the handlers, not only the checks at the door
        self.assertIn(200, statuses)
        self.assertIn(400, statuses)
        self.assertIn(404, statuses)
