"""TLS for the OpenFlow channel (OS-Ken's options) and a throwaway lab PKI (cryptography)."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from sdn_shadow.config.model import TlsFiles

LAB_DAYS = 30
"""How long the lab certificates are valid."""


def openflow_listen_args(host: str, port: int, tls: TlsFiles | None) -> list[str]:
    """OS-Ken's command-line options to listen for switches on host:port, over TLS if `tls`.

    OS-Ken opens ONE listener: TLS on `--ofp-ssl-listen-port` when both a key and a
    certificate are set, else plain TCP on `--ofp-tcp-listen-port`. With `--ca-certs`
    it requires each switch to present a certificate that CA signed (CERT_REQUIRED).
    """
    if tls is None:
        return ["--ofp-tcp-listen-port", str(port), "--ofp-listen-host", host]
    if not tls.ca:
        raise ValueError("OpenFlow over TLS needs a CA to check the switches' certificates")
    return ["--ofp-ssl-listen-port", str(port), "--ofp-listen-host", host,
            "--ctl-privkey", tls.key, "--ctl-cert", tls.cert, "--ca-certs", tls.ca]


def openflow_target(host: str, port: int, tls: TlsFiles | None) -> str:
    """The address switches are given: `ssl:HOST:PORT` with TLS, else `tcp:HOST:PORT`."""
    address = f"[{host}]" if ":" in host else host
    return f"{'ssl' if tls else 'tcp'}:{address}:{port}"


@dataclass(frozen=True, slots=True)
class LabPki:
    """PEM files of a throwaway CA, a server certificate for 127.0.0.1 and a switch's."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    """For the controller's OpenFlow listener and the REST API (SAN IP 127.0.0.1)."""
    server_key: Path
    switch_cert: Path
    """A client certificate for switches (e.g. `ovs-vsctl set-ssl`)."""
    switch_key: Path

    def controller_tls(self) -> TlsFiles:
        """`controller.tls`: the server certificate; switches must be signed by our CA."""
        return TlsFiles(cert=str(self.server_cert), key=str(self.server_key),
                        ca=str(self.ca_cert))

    def api_tls(self) -> TlsFiles:
        """`api.tls`: the server certificate and key."""
        return TlsFiles(cert=str(self.server_cert), key=str(self.server_key))


def make_lab_pki(directory: str | os.PathLike[str], host: str = "127.0.0.1") -> LabPki:
    """Write a new CA, a server certificate for `host` and a switch certificate into
    `directory` (created if missing; keys mode 0600). For labs and tests only.

    `cryptography` is imported here, so that the rest of this module works without it.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sdn-shadow lab"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def write(stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
              ) -> tuple[Path, Path]:
        cert_path, key_path = out / f"{stem}-cert.pem", out / f"{stem}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        return cert_path, key_path

    def builder(subject: str, issuer: x509.Name, public: ec.EllipticCurvePublicKey
                ) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer)
                .public_key(public).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=LAB_DAYS))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False))

    def usage(*, cert_sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=True, content_commitment=False,
                             key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                             encipher_only=False, decipher_only=False)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (builder("sdn-shadow lab CA", name("sdn-shadow lab CA"), ca_key.public_key())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
               .add_extension(usage(cert_sign=True), True)
               .sign(ca_key, hashes.SHA256()))
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())

    def leaf(subject: str, purpose: x509.ObjectIdentifier,
             san: list[x509.GeneralName]) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (builder(subject, ca_cert.subject, key.public_key())
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .add_extension(usage(cert_sign=False), True)
                .add_extension(x509.ExtendedKeyUsage([purpose]), False)
                .add_extension(x509.SubjectAlternativeName(san), False)
                .add_extension(aki, False)
                .sign(ca_key, hashes.SHA256()))
        return key, cert

    try:
        server_san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        server_san = x509.DNSName(host)
    server = leaf(host, ExtendedKeyUsageOID.SERVER_AUTH, [server_san])
    switch = leaf("sdn-shadow lab switch", ExtendedKeyUsageOID.CLIENT_AUTH,
                  [x509.DNSName("switch.sdn-shadow.invalid")])
    ca_paths = write("ca", ca_key, ca_cert)
    server_paths = write("server", *server)
    switch_paths = write("switch", *switch)
    return LabPki(*ca_paths, *server_paths, *switch_paths)
