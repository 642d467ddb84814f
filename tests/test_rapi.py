"""The RAPI's pure parts: users file, schema checks, routing, the OpenAPI document."""

import os
import re
import tempfile

from twisted.trial import unittest

from ganeti_tw import errors
from ganeti_tw.rapi import baserlib, openapi, rlib2, schema as S
from ganeti_tw.rapi.users import UsersFile, check_password, ha1, parse_users


class UsersFileTests(unittest.SynchronousTestCase):
    def test_both_formats_and_their_rights(self):
        users = parse_users("# comment\n"
                            "old secret write\n"
                            "plain secret\n"
                            "r {cleartext}pw read\n"
                            "w {HA1}%s read,write\n"
                            "bad line with too many fields\n" % ha1("w", "pw"))
        self.assertEqual(sorted(users), ["old", "plain", "r", "w"])
        self.assertEqual([(users[n].can_read, users[n].can_write) for n in sorted(users)],
                         [(True, True), (True, False), (True, False), (True, True)])
        self.assertTrue(check_password(users["old"], "secret"))
        self.assertFalse(check_password(users["old"], "Secret"))
        self.assertTrue(check_password(users["r"], "pw"))
        self.assertFalse(check_password(users["r"], "{cleartext}pw"))
        self.assertTrue(check_password(users["w"], "pw"))
        self.assertFalse(check_password(users["w"], "pw2"))

    def test_ha1_is_htdigest_md5_of_user_realm_password(self):
        # what "htdigest -c users 'Ganeti Remote API' u" stores for password "p"
        self.assertEqual(ha1("u", "p"), "f33c80ecffa800e545e2274d51f13b1c")

    def test_file_is_reread_when_it_changes_and_empty_when_gone(self):
        path = os.path.join(tempfile.mkdtemp(), "users")
        self.assertIsNone(UsersFile(path).authenticate("a", "b"))
        users = UsersFile(path)
        with open(path, "w") as fh:
            fh.write("a b write\n")
        self.assertEqual(users.authenticate("a", "b").name, "a")
        with open(path + ".new", "w") as fh:
            fh.write("a c\n")
        os.replace(path + ".new", path)
        self.assertIsNone(users.authenticate("a", "b"))
        self.assertFalse(users.authenticate("a", "c").can_write)
        os.unlink(path)
        self.assertIsNone(users.authenticate("a", "c"))


class SchemaTests(unittest.SynchronousTestCase):
    BODY = S.obj({"disks": S.array(S.obj({"size": S.integer(1)}, ["size"])),
                  "name": S.string(), "mode": S.string(["a", "b"]),
                  "ip": S.nullable(S.string())}, ["name"])

    def assertRefused(self, value, text):
        with self.assertRaises(errors.ParameterError) as caught:
            S.check(self.BODY, value, "body")
        self.assertIn(text, str(caught.exception))

    def test_errors_name_the_field(self):
        S.check(self.BODY, {"name": "x", "disks": [{"size": 1}], "ip": None}, "body")
        self.assertRefused({"name": "x", "disks": [{"size": "1"}]}, "body.disks[0].size")
        self.assertRefused({"name": "x", "disks": [{"size": 0}]}, "at least 1")
        self.assertRefused({"name": "x", "disks": [{"size": True}]}, "expected integer")
        self.assertRefused({}, "missing required field 'name'")
        self.assertRefused({"name": "x", "other": 1}, "unknown field 'other'")
        self.assertRefused({"name": "x", "mode": "c"}, "must be one of a, b")
        self.assertRefused([], "expected object")

    def test_query_values_take_the_declared_type(self):
        self.assertIs(S.parse_query_value(S.boolean(), ["1"], "bulk"), True)
        self.assertIs(S.parse_query_value(S.boolean(), ["False"], "bulk"), False)
        self.assertEqual(S.parse_query_value(S.array(S.string()), ["a", "b"], "tag"), ["a", "b"])
        self.assertEqual(S.parse_query_value(S.integer(), ["7"], "n"), 7)
        for arg_schema, value in ((S.boolean(), "2"), (S.integer(), "x"),
                                  (S.string(["soft"]), "warm")):
            with self.assertRaises(errors.ParameterError):
                S.parse_query_value(arg_schema, [value], "arg")


class RouteTests(unittest.SynchronousTestCase):
    def test_paths_match_their_templates_only(self):
        route, items = baserlib.find_route(rlib2.ROUTES, "/2/instances/a.b-c_1/disk/2/grow")
        self.assertEqual((route.template, items),
                         ("/2/instances/{instance}/disk/{disk_index}/grow",
                          {"instance": "a.b-c_1", "disk_index": "2"}))
        self.assertEqual(baserlib.find_route(rlib2.ROUTES, "/2/jobs/x")[0], None)
        self.assertEqual(baserlib.find_route(rlib2.ROUTES, "/2/instances/a/b")[0], None)

    def test_every_write_takes_dry_run_and_every_method_a_reason(self):
        for route in rlib2.ROUTES:
            for verb, method in route.methods.items():
                self.assertIn("reason", method.args)
                self.assertEqual(verb != "GET", "dry-run" in method.args,
                                 "%s %s" % (verb, route.template))

    def test_masterd_errors_get_the_statuses_of_spec_7(self):
        cases = [(errors.JobQueueDrainError("x"), 503), (errors.JobQueueFull("x"), 503),
                 (errors.NoMasterError("x"), 502), (errors.TimeoutError("x"), 504),
                 (errors.OpPrereqError("x"), 400), (errors.TagError("x"), 400),
                 (errors.OpExecError("x"), 500)]
        for err, status in cases:
            self.assertEqual(baserlib.http_error_for(err).code, status, err)


class ManPageTests(unittest.SynchronousTestCase):
    def test_man_page_lists_every_resource_and_method(self):
        page = os.path.join(os.path.dirname(__file__), "..", "man", "ganeti-rapi.8")
        with open(page) as fh:
            text = fh.read().replace("\\-", "-").replace("\\fI", "").replace("\\fB", "")
        for route in rlib2.ROUTES:
            path = re.sub(r"\{(instance|node|group)\}", "NAME", route.template)
            path = path.replace("{job_id}", "ID").replace("{disk_index}", "N")
            lines = [line for line in text.splitlines() if path + " " in line + " "
                     or path + '"' in line]
            self.assertTrue(lines, path)
            for verb in route.methods:
                self.assertTrue(any(verb in line for line in lines), "%s %s" % (verb, path))


class OpenApiTests(unittest.SynchronousTestCase):
    def test_document_is_valid_openapi_3_1_covering_the_table(self):
        from openapi_spec_validator import validate
        document = openapi.document(rlib2.ROUTES)
        validate(document)
        self.assertEqual(document["openapi"], "3.1.0")
        self.assertEqual(set(document["paths"]), {r.template for r in rlib2.ROUTES})
        create = document["paths"]["/2/instances"]["post"]
        self.assertEqual(create["security"], [{"basic": []}])
        self.assertIn("503", create["responses"])
        bulk = [p for p in document["paths"]["/2/nodes"]["get"]["parameters"]
                if p["name"] == "bulk"][0]
        self.assertEqual(bulk["schema"]["enum"], [0, 1])
