"""The cluster CA and the node certificates it issues (no Twisted: the CLI uses it).

Every key is EC P-256: generating one takes about a millisecond (an RSA 2048
key takes tens to hundreds, with a long random tail from the prime search), so
``gnt-cluster init`` and ``gnt-node add`` stay instant; signatures and
handshakes are cheaper too, and P-256 ECDSA is supported by every TLS 1.2 stack.

A node certificate names its node twice, as subject CN (what the RPC client
checks) and as a SAN dNSName (what standard TLS hostname checks look at).
"""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ganeti_tw import errors, utils

# Certificates start one day in the past so that a node whose clock lags the
# issuing master's accepts a freshly issued certificate.
_BACKDATE = datetime.timedelta(days=1)

# KeyUsage wants every flag; these are off in all our certificates.
_NO_USAGE = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, encipher_only=False, decipher_only=False)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_cert(cert_pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError as err:
        raise errors.SignatureError("Invalid certificate: %s" % err) from None


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
             days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False))


def generate_ca(cluster_name: str, days: int = 3650) -> tuple[bytes, bytes]:
    """A new self-signed cluster CA ``(key_pem, cert_pem)``, able to sign node certificates only."""
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, cluster_name),
                      x509.NameAttribute(NameOID.COMMON_NAME, "ganeti-tw cluster CA")])
    cert = (_builder(name, name, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True,
                                         crl_sign=True, **_NO_USAGE), critical=True)
            .sign(key, hashes.SHA256()))
    return _key_pem(key), _cert_pem(cert)


def issue_node_cert(ca_key_pem: bytes, ca_cert_pem: bytes, node_name: str,
                    days: int = 3650) -> tuple[bytes, bytes]:
    """A new key and a certificate for ``node_name`` signed by the CA: ``(key_pem, cert_pem)``.

    The certificate is good for both ends of node RPC (server and client auth).
    """
    ca_cert = _load_cert(ca_cert_pem)
    try:
        ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    except (ValueError, TypeError) as err:
        raise errors.SignatureError("Invalid CA private key: %s" % err) from None
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_name)])
    cert = (_builder(subject, ca_cert.subject, key.public_key(), days)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False,
                                         crl_sign=False, **_NO_USAGE), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(node_name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _key_pem(key), _cert_pem(cert)


def generate_self_signed(common_name: str, days: int = 3650) -> tuple[bytes, bytes]:
    """A key and a self-signed server certificate ``(key_pem, cert_pem)`` (rapi.pem).

    RAPI clients do not know the cluster CA (Ganeti's own client checks no
    certificate at all), so like Ganeti we give the RAPI its own certificate.
    """
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (_builder(name, name, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return _key_pem(key), _cert_pem(cert)


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate's DER as ``ab:01:...`` (as in ssconf_master_candidates_certs)."""
    return _load_cert(cert_pem).fingerprint(hashes.SHA256()).hex(":")


def cert_common_name(cert_pem: bytes) -> str:
    names = _load_cert(cert_pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise errors.SignatureError("Certificate has no common name")
    return str(names[0].value)


def write_node_pem(path: str, key_pem: bytes, cert_pem: bytes) -> None:
    """Write a node's key and certificate to one file, readable by its owner only."""
    utils.write_file_atomic(path, key_pem + cert_pem, mode=0o400)


def read_node_pem(path: str) -> tuple[bytes, bytes]:
    """Read a file written by :func:`write_node_pem`: ``(key_pem, cert_pem)``.

    Raises SignatureError naming the file if it is missing, unreadable, lacks
    a key or a certificate, or holds a key that does not match the certificate.
    """
    try:
        data = utils.read_file(path)
    except OSError as err:
        raise errors.SignatureError("Cannot read node certificate file %s: %s"
                                    % (path, err.strerror)) from None
    try:
        key = serialization.load_pem_private_key(data, None)
        cert = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as err:
        raise errors.SignatureError("Corrupt node certificate file %s: %s" % (path, err)) from None
    if key.public_key() != cert.public_key():
        raise errors.SignatureError("Corrupt node certificate file %s: the key does not match"
                                    " the certificate" % path)
    return _key_pem(key), _cert_pem(cert)
