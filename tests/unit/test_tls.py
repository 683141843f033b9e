"""TLS without the network: OS-Ken's listen options, and the lab PKI's certificates and keys."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sdn_shadow.config.model import TlsFiles
from sdn_shadow.tls import make_lab_pki, openflow_listen_args, openflow_target

TLS = TlsFiles(cert="/etc/s/ctl-cert.pem", key="/etc/s/ctl-key.pem", ca="/etc/s/switch-ca.pem")


def test_plain_tcp_without_tls() -> None:
    assert openflow_listen_args("127.0.0.1", 6653, None) == [
        "--ofp-tcp-listen-port", "6653", "--ofp-listen-host", "127.0.0.1"]
    assert openflow_target("127.0.0.1", 6653, None) == "tcp:127.0.0.1:6653"


def test_tls_listens_on_the_ssl_port_and_requires_the_ca() -> None:
    assert openflow_listen_args("0.0.0.0", 6653, TLS) == [
        "--ofp-ssl-listen-port", "6653", "--ofp-listen-host", "0.0.0.0",
        "--ctl-privkey", TLS.key, "--ctl-cert", TLS.cert, "--ca-certs", TLS.ca]
    assert openflow_target("0.0.0.0", 6653, TLS) == "ssl:0.0.0.0:6653"
    assert openflow_target("::1", 6653, TLS) == "ssl:[::1]:6653"


def test_tls_without_a_ca_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a CA"):
        openflow_listen_args("127.0.0.1", 6653, TlsFiles(cert="c.pem", key="k.pem"))


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _public(obj) -> bytes:
    return obj.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def test_lab_pki_certificates_chain_to_the_ca_and_match_their_keys(tmp_path: Path) -> None:
    pki = make_lab_pki(tmp_path)
    ca = _load(pki.ca_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for cert_path, key_path in ((pki.ca_cert, pki.ca_key), (pki.server_cert, pki.server_key),
                                (pki.switch_cert, pki.switch_key)):
        cert = _load(cert_path)
        cert.verify_directly_issued_by(ca)
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert _public(key) == _public(cert), f"{key_path} is not the key of {cert_path}"
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    san = _load(pki.server_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert pki.controller_tls() == TlsFiles(str(pki.server_cert), str(pki.server_key),
                                            str(pki.ca_cert))
    assert pki.api_tls() == TlsFiles(str(pki.server_cert), str(pki.server_key))
