"""Tests for ganeti_tw.certs: the cluster CA and node certificates."""

import os
import re
import stat

from twisted.trial.unittest import SynchronousTestCase

from ganeti_tw import certs, errors


class CertsTests(SynchronousTestCase):

    def setUp(self) -> None:
        self.ca_key, self.ca_cert = certs.generate_ca("cluster.example.com")
        self.key, self.cert = certs.issue_node_cert(self.ca_key, self.ca_cert, "node1.example.com")
        self.path = os.path.join(self.mktemp(), "server.pem")
        os.makedirs(os.path.dirname(self.path))

    def test_generate_ca_returns_pem_key_and_cert(self) -> None:
        self.assertTrue(self.ca_key.startswith(b"-----BEGIN PRIVATE KEY-----"))
        self.assertTrue(self.ca_cert.startswith(b"-----BEGIN CERTIFICATE-----"))

    def test_node_cert_common_name_is_node_name(self) -> None:
        self.assertEqual(certs.cert_common_name(self.cert), "node1.example.com")

    def test_fingerprint_is_lowercase_colon_separated_sha256(self) -> None:
        self.assertRegex(certs.fingerprint(self.cert), r"^[0-9a-f]{2}(:[0-9a-f]{2}){31}$")

    def test_fingerprints_differ_between_certs(self) -> None:
        _, other = certs.issue_node_cert(self.ca_key, self.ca_cert, "node1.example.com")
        self.assertNotEqual(certs.fingerprint(self.cert), certs.fingerprint(other))

    def test_write_read_roundtrip(self) -> None:
        certs.write_node_pem(self.path, self.key, self.cert)
        self.assertEqual(certs.read_node_pem(self.path), (self.key, self.cert))

    def test_node_pem_is_mode_0400(self) -> None:
        certs.write_node_pem(self.path, self.key, self.cert)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o400)

    def test_node_pem_can_be_replaced(self) -> None:
        """A 0400 file is replaced by rename, so re-issuing a node certificate works."""
        certs.write_node_pem(self.path, self.key, self.cert)
        key, cert = certs.issue_node_cert(self.ca_key, self.ca_cert, "node1.example.com")
        certs.write_node_pem(self.path, key, cert)
        self.assertEqual(certs.read_node_pem(self.path), (key, cert))

    def test_missing_node_pem_raises_signature_error_naming_file(self) -> None:
        err = self.assertRaises(errors.SignatureError, certs.read_node_pem, self.path)
        self.assertIn(self.path, str(err))

    def test_corrupt_node_pem_raises_signature_error_naming_file(self) -> None:
        with open(self.path, "wb") as fh:
            fh.write(self.key + self.cert[:200])
        err = self.assertRaises(errors.SignatureError, certs.read_node_pem, self.path)
        self.assertIn(self.path, str(err))

    def test_node_pem_without_key_raises_signature_error(self) -> None:
        with open(self.path, "wb") as fh:
            fh.write(self.cert)
        self.assertRaises(errors.SignatureError, certs.read_node_pem, self.path)

    def test_node_pem_with_mismatched_key_raises_signature_error(self) -> None:
        other_key, _ = certs.issue_node_cert(self.ca_key, self.ca_cert, "node1.example.com")
        certs.write_node_pem(self.path, other_key, self.cert)
        err = self.assertRaises(errors.SignatureError, certs.read_node_pem, self.path)
        self.assertTrue(re.search("key does not match", str(err)))

    def test_invalid_certificate_raises_signature_error(self) -> None:
        self.assertRaises(errors.SignatureError, certs.fingerprint, b"not a certificate")
