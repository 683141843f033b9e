"""The files a configuration names: the loader opens and checks them, the parser never does."""

from __future__ import annotations

import builtins
import io
import os
import pathlib
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml

from sdn_shadow.config import ConfigError, load_config, parse_config, validate_config
from sdn_shadow.config.files import (
    CAPTURE,
    MAX_PASSWORD_BYTES,
    MAX_PEM_BYTES,
    PASSWORD,
    TLS,
    FileRef,
    check_files,
    file_references,
)

L = "networks.tenant-a.shadow.ldap"
D = "networks.tenant-a.shadow.detect"


def _pcap(path: Path) -> str:
    """A one-frame pcap file at `path`."""
    frame = bytes(14)
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                     + struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame)
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """A good file of each kind."""
    pem = tmp_path / "x.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")
    password = tmp_path / "ldap-password"
    password.write_text("secret\n")
    return {"pem": str(pem), "password": str(password), "pcap": _pcap(tmp_path / "n.pcap")}


def _data(pem: str, password: str, pcap: str) -> dict[str, Any]:
    """A configuration naming a file of every kind."""
    return {
        "controller": {"tls": {"ca": pem, "cert": pem, "key": pem}},
        "api": {"tls": {"cert": pem, "key": pem}},
        "fabric": {"switches": {"s1": {"dpid": 1}}},
        "networks": {"tenant-a": {
            "cidr": "10.0.0.0/24",
            "hosts": {"h1": {"switch": "s1", "port": 1, "mac": "00:00:00:00:0a:01",
                             "ip": "10.0.0.1"}},
            "shadow": {
                "hosts": {"h1s": {"twin": "h1", "switch": "s1", "port": 2}},
                "ldap": {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=admin,dc=example,dc=org",
                         "password_file": password, "primary_base": "ou=a,dc=example,dc=org",
                         "shadow_base": "ou=a-shadow,dc=example,dc=org"},
                "detect": {"on": ["h1s"], "baseline": [pcap], "thresholds": {"scan_ports": 30}},
            }}}}


def _lines(data: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate_config(data)
    return info.value.lines()


def test_good_files_pass_the_loader(files: dict[str, str]) -> None:
    config = validate_config(_data(files["pem"], files["password"], files["pcap"]))
    assert config.controller.tls is not None and config.controller.tls.ca == files["pem"]
    shadow = config.network("tenant-a").shadow
    assert shadow is not None and shadow.ldap is not None and shadow.detect is not None
    assert shadow.ldap.password_file == files["password"]
    assert shadow.detect.baseline == (files["pcap"],)


def test_the_loader_finds_every_named_file(files: dict[str, str]) -> None:
    refs = file_references(_data(files["pem"], files["password"], files["pcap"]))
    assert refs == (FileRef(TLS, files["pem"]), FileRef(PASSWORD, files["password"]),
                    FileRef(CAPTURE, files["pcap"]))
    for shapeless in (None, [], {"networks": [1]}, {"api": {"tls": "x"}},
                      {"networks": {"n": {"shadow": {"detect": {"baseline": "x.pcap"}}}}}):
        assert file_references(shapeless) == ()


@pytest.mark.parametrize(("case", "expected"), [
    ("missing-cert", "api.tls.cert: cannot read /nonexistent/c.pem"),
    ("directory-key", "controller.tls.key: cannot read {tmp}"),
    ("large-pem", "api.tls.key: {tmp}/big.pem is over 1 MiB: too large for PEM certificates "
                  "or keys"),
    ("missing-password", f"{L}.password_file: No such file or directory"),
    ("empty-password", f"{L}.password_file: empty (the first line is the password)"),
    ("binary-password", f"{L}.password_file: not UTF-8 text"),
    ("large-password", f"{L}.password_file: over 64 KiB: too large for a password file (the "
                       "first line is the password)"),
    ("text-baseline", f"{D}.baseline[0]: {{tmp}}/x.pem: not a pcap or pcapng capture (it "
                      "starts with bytes 2d 2d 2d 2d)"),
    ("missing-baseline", f"{D}.baseline[0]: /nonexistent.pcap: No such file or directory"),
])
def test_bad_files_are_reported_at_the_key_that_names_them(
        files: dict[str, str], tmp_path: Path, case: str, expected: str) -> None:
    data = _data(files["pem"], files["password"], files["pcap"])
    shadow = data["networks"]["tenant-a"]["shadow"]
    big = tmp_path / "big.pem"
    if case == "missing-cert":
        data["api"]["tls"]["cert"] = "/nonexistent/c.pem"
    elif case == "directory-key":
        data["controller"]["tls"]["key"] = str(tmp_path)
    elif case == "large-pem":
        big.write_bytes(b"-" * (MAX_PEM_BYTES + 1))
        data["api"]["tls"]["key"] = str(big)
    elif case == "text-baseline":
        shadow["detect"]["baseline"] = [files["pem"]]
    elif case == "missing-baseline":
        shadow["detect"]["baseline"] = ["/nonexistent.pcap"]
    else:
        content = {"missing-password": None, "empty-password": b"",
                   "binary-password": b"\xff\xfe\n", "large-password":
                   b"x" * (MAX_PASSWORD_BYTES + 1)}[case]
        password = tmp_path / "pw"
        if content is not None:
            password.write_bytes(content)
        shadow["ldap"]["password_file"] = str(password)
    assert _lines(data) == [expected.format(tmp=tmp_path)]


def test_file_problems_stay_in_document_order_among_the_others(files: dict[str, str]) -> None:
    data = _data("/nonexistent/c.pem", files["password"], files["pcap"])
    data["routing"] = {"lower": 0.9}
    data["networks"]["tenant-a"]["vlan"] = 0
    assert _lines(data) == [
        "controller.tls.ca: cannot read /nonexistent/c.pem",
        "controller.tls.cert: cannot read /nonexistent/c.pem",
        "controller.tls.key: cannot read /nonexistent/c.pem",
        "routing.lower: must be below routing.upper (0.8)",
        "api.tls.cert: cannot read /nonexistent/c.pem",
        "api.tls.key: cannot read /nonexistent/c.pem",
        "networks.tenant-a.vlan: must be in 1..4094"]


def test_load_config_checks_the_files_it_names(files: dict[str, str], tmp_path: Path) -> None:
    data = _data(files["pem"], "/nonexistent/pw", files["pcap"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.lines() == [f"{path}: {L}.password_file: No such file or directory"]


def test_parsing_opens_no_file(files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_config on plain data touches no file, even one the data names; the facts the
    loader gathered before are what it reports from."""
    data = _data("/nonexistent/c.pem", files["password"], "/nonexistent.pcap")
    facts = check_files(data)  # the loading layer: opens the files
    parse_config(_data(files["pem"], files["password"], files["pcap"]))  # imports done
    touched: list[str] = []

    def refuse(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            touched.append(f"{name}{args[:1]}")
            raise OSError(f"parsing must not call {name}")
        return call

    with monkeypatch.context() as patch:
        for module, names in ((builtins, ("open",)), (io, ("open",)),
                              (os, ("open", "stat", "lstat", "access", "listdir", "scandir")),
                              (pathlib.Path, ("open", "read_text", "read_bytes", "stat",
                                              "exists", "is_file"))):
            for name in names:
                patch.setattr(module, name, refuse(f"{getattr(module, '__name__', module)}."
                                                   f"{name}"))
        config = parse_config(data)  # plain data: the named files are taken as named
        with pytest.raises(ConfigError) as info:
            parse_config(data, "c.yaml", facts)
    assert touched == []
    assert config.controller.tls is not None and config.controller.tls.cert == "/nonexistent/c.pem"
    assert info.value.lines() == [
        "c.yaml: controller.tls.ca: cannot read /nonexistent/c.pem",
        "c.yaml: controller.tls.cert: cannot read /nonexistent/c.pem",
        "c.yaml: controller.tls.key: cannot read /nonexistent/c.pem",
        "c.yaml: api.tls.cert: cannot read /nonexistent/c.pem",
        "c.yaml: api.tls.key: cannot read /nonexistent/c.pem",
        f"c.yaml: {D}.baseline[0]: /nonexistent.pcap: No such file or directory"]


@pytest.mark.parametrize("example", ["lab.yaml", "ring.yaml"])
def test_validation_leaves_the_document_as_it_was_read(example) -> None:
    """`sdn-shadow run` hands the document it validated to the app, which layers the
    API's kept changes on it: validating must not change it."""
    import copy

    examples = Path(__file__).resolve().parents[2] / "examples"
    document = yaml.safe_load((examples / example).read_text())
    before = copy.deepcopy(document)
    validate_config(document, example)
    assert document == before
