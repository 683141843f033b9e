"""`sdn-shadow template check|render`: validate placement templates and instantiate them.

`render` prints the instance's network as YAML (`networks: {NAME: ...}`),
ready to paste into a config, followed by its resource profiles as YAML
comments, so the whole output still loads as YAML. With `--config` the
network is merged into that config and the result validated (and, with
`--write`, written: a new file, comments of the original not kept). With
`--capture` each host's load is predicted by an emulated VM fitted on the
capture's traffic to its address (`capture_ip`, else its `ip`) and judged
against its VM type. Exit 0 when everything is valid, 2 otherwise, with one
`SOURCE: key.path: reason` line per problem on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from sdn_shadow.analytics.capture_file import CaptureError
from sdn_shadow.atomic import replace_file
from sdn_shadow.config import Config, ConfigError, read_document
from sdn_shadow.usage import UsageError

from .model import RESOURCES, HostProfile, Instance, Scaling, Sources, Template, TemplateError
from .parse import load_instance, load_template
from .render import capture_address, check_alone, host_profiles, instantiate, render

if TYPE_CHECKING:
    from sdn_shadow.analytics.emulated_vm import ResourceProfile

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `template check` and `template render` to an argparse subparsers object."""
    template = subparsers.add_parser("template", help="placement templates: check, render")
    sub = template.add_subparsers(dest="template_command", required=True)
    check = sub.add_parser(
        "check", help="validate template files; exit 2 on problems",
        description="Check each template: its keys and values, and its allocation and ldap "
                    "blocks as the config parser checks them. Exit 0 when all are valid, "
                    "else 2 with one `FILE: key.path: reason` line per problem.")
    check.add_argument("templates", nargs="+", metavar="TEMPLATE")
    check.set_defaults(func=run_check)
    rend = sub.add_parser(
        "render", help="instantiate a template: the network's YAML and resource profiles",
        description="Build the network an instance document describes from the template "
                    "(hosts, twins, mirror sessions by fidelity, allocation, ldap) and print "
                    "it as YAML, then each host's VM type and scaling rules as YAML comments. "
                    "--config validates the network merged into that config (--write saves "
                    "the merged config; comments are not kept); without it the network is "
                    "checked on its own. --capture predicts each host's load from a pcap and "
                    "says whether its VM type fits.")
    rend.add_argument("template", metavar="TEMPLATE", help="template YAML file")
    rend.add_argument("--instance", required=True, metavar="INSTANCE",
                      help="instance YAML or JSON file: network, cidr, hosts")
    rend.add_argument("--config", metavar="CONFIG", help="config to merge the network into")
    rend.add_argument("--write", metavar="NEW_CONFIG",
                      help="write the merged config here (needs --config)")
    rend.add_argument("--capture", metavar="PCAP", help="pcap or pcapng to predict loads from")
    rend.add_argument("--interval", default="1", metavar="SECONDS",
                      help="capture interval length for --capture (default 1)")
    rend.add_argument("--level", default="0.9",
                      help="prediction interval level for --capture (default 0.9)")
    rend.add_argument("--json", metavar="OUT", help="also write the result as JSON here "
                      "('-': JSON on stdout instead of the YAML)")
    rend.set_defaults(func=run_render)
    return template


def run_check(args: argparse.Namespace) -> int:
    """Entry point of `template check` used by the CLI."""
    return check_command(args.templates, sys.stdout, sys.stderr)


def run_render(args: argparse.Namespace) -> int:
    """Entry point of `template render` used by the CLI."""
    return render_command(args.template, args.instance, args.config, args.write, args.capture,
                          args.interval, args.level, args.json, sys.stdout, sys.stderr)


def check_command(paths: list[str], out: TextIO, err: TextIO) -> int:
    """Print `FILE: ok (...)` per valid template; 2 with problem lines if any is invalid."""
    status = EXIT_OK
    for path in paths:
        try:
            template = load_template(path)
        except TemplateError as problem:
            _report(problem, err)
            status = EXIT_USAGE
            continue
        print(f"{path}: ok ({summary(template)})", file=out)
    return status


def summary(template: Template) -> str:
    """One line: the template's name, shadow and fidelity, VM types and scaling rules."""
    shadow = f"shadow, fidelity {template.fidelity}" if template.shadow_enabled else "no shadow"
    if template.shadow_enabled and template.ldap is not None:
        shadow += " + ldap"
    types = ", ".join(t.name for t in template.vm_types)
    rules = ", ".join(template.scaling.to_dict()) or "none"
    return f"template {template.name}: {shadow}; VM types {types}; scaling {rules}"


def render_command(template_path: str, instance_path: str, config_path: str | None,
                   write: str | None, capture: str | None, interval: str, level: str,
                   json_out: str | None, out: TextIO, err: TextIO) -> int:
    """Render, validate and profile one instance; 0 when valid, 2 on any problem."""
    try:
        if write is not None and config_path is None:
            raise UsageError("--write needs --config (the config to merge the network into)")
        seconds, share = _seconds("--interval", interval), _level(level)
    except UsageError as problem:
        print(f"sdn-shadow template render: {problem}", file=err)
        return EXIT_USAGE
    sources = Sources(template_path, instance_path, config_path or "config")
    try:
        template = load_template(template_path)
        instance = load_instance(instance_path, template)
        merged, config = _validated(template, instance, config_path, sources)
    except TemplateError as problem:
        _report(problem, err)
        return EXIT_USAGE
    try:
        predicted = None if capture is None else predict(capture, instance, seconds, share)
    except CaptureError as problem:
        print(f"sdn-shadow template render: {problem}", file=err)
        return EXIT_USAGE
    profiles = host_profiles(template, instance, predicted)
    document = render(template, instance)
    data = {"template": template.name, "network": instance.network, "document": document,
            "profiles": [p.to_dict() for p in profiles], "capture": capture,
            "config": config_path, "written": write}
    if merged is not None and write is not None and not _write(write, dump_yaml(merged), err):
        return EXIT_USAGE
    if json_out == "-":
        print(json.dumps(data, indent=2), file=out)
        return EXIT_OK
    print(dump_yaml({"networks": {instance.network: document}}), end="", file=out)
    print(_comment(_status(config, config_path, write, instance)), file=out)
    print(_comment(format_profiles(template.scaling, profiles, capture, share)), file=out)
    if json_out is not None and not _write(json_out, json.dumps(data, indent=2) + "\n", err):
        return EXIT_USAGE
    return EXIT_OK


def _validated(template: Template, instance: Instance, config_path: str | None,
               sources: Sources) -> tuple[dict[str, Any] | None, Config]:
    """(merged document or None, Config): with a config, merged into it; else on its own."""
    if config_path is None:
        return None, check_alone(template, instance, sources)
    try:
        document = read_document(config_path)
    except ConfigError as problem:
        raise TemplateError([(problem.source, p, r) for p, r in problem.problems]) from None
    return instantiate(template, instance, document, sources)


def predict(capture: str, instance: Instance, seconds: float, level: float
            ) -> dict[str, ResourceProfile | str]:
    """Per host: the emulated VM's profile from `capture`, or why there is none."""
    from sdn_shadow.analytics.emulated_vm import EmulatedVM
    from sdn_shadow.analytics.vm_load import load_samples

    by_address: dict[str, ResourceProfile | str] = {}
    out: dict[str, ResourceProfile | str] = {}
    for host in instance.hosts:
        address = capture_address(host)
        if address not in by_address:
            try:
                samples = load_samples(capture, address, seconds)
            except UsageError:  # the address sends and receives nothing in the capture
                by_address[address] = f"no traffic to or from {address} in the capture"
            else:
                by_address[address] = EmulatedVM(level=level).fit(samples).profile()
        out[host.name] = by_address[address]
    return out


def format_profiles(scaling: Scaling, profiles: tuple[HostProfile, ...], capture: str | None,
                    level: float) -> str:
    """The hosts' VM types and the scaling rules; with a capture, predicted uppers and verdicts."""
    lines = ["resource profiles", f"scaling: {_rules(scaling)}",
             f"{'HOST':<12}{'VM TYPE':<12}{'CORES':>8}{'MEM GB':>8}{'MBIT/S':>9}{'DISK GB':>9}"]
    for p in profiles:
        t = p.vm_type
        disk = "-" if t.storage_gb == 0 else f"{t.storage_gb:g}"
        lines.append(f"{p.host:<12}{t.name:<12}{t.cpu_cores:>8g}{t.memory_gb:>8g}"
                     f"{t.bandwidth_mbps:>9g}{disk:>9}")
    if capture is None:
        return "\n".join(lines)
    lines += ["", f"predicted from {capture} (upper bounds of {level:.0%} intervals)",
              f"{'HOST':<12}{'ADDRESS':<16}{'CORES':>8}{'MEM GB':>8}{'MBIT/S':>9}"
              f"{'DISK GB':>9}  VERDICT"]
    for p in profiles:
        if p.predicted is None:
            lines.append(f"{p.host:<12}{p.address or '':<16}{'-':>8}{'-':>8}{'-':>9}{'-':>9}  "
                         f"{p.verdict}")
            continue
        r = p.predicted
        lines.append(f"{p.host:<12}{p.address or '':<16}{r.cpu_cores.upper:>8.3f}"
                     f"{r.memory_gb.upper:>8.3f}{r.bandwidth_mbps.upper:>9.3f}"
                     f"{r.storage_gb.upper:>9.2f}  {p.verdict}")
    return "\n".join(lines)


def _rules(scaling: Scaling) -> str:
    parts = []
    for resource in RESOURCES:
        rule = scaling.rule(resource)
        if rule is None:
            parts.append(f"{resource} none (judged at full capacity)")
            continue
        text = f"{resource} out above {rule.above:g} for {rule.for_seconds:g} s"
        if rule.below is not None:
            text += f", in below {rule.below:g}"
        parts.append(text)
    return "; ".join(parts)


def _status(config: Config, config_path: str | None, write: str | None,
            instance: Instance) -> str:
    """Which check the network passed, and what was written."""
    network = config.network(instance.network)
    shadow = network.shadow
    what = (f"{len(network.hosts)} hosts, {len(shadow.hosts) if shadow else 0} twins, "
            f"{len(shadow.mirror) if shadow else 0} mirror sessions")
    if config_path is None:
        return f"network {instance.network}: valid on its own ({what})"
    line = (f"network {instance.network}: valid merged into {config_path} ({what}; "
            f"{len(config.networks)} networks in all)")
    return line + (f"; merged config written to {write}" if write else "")


def _comment(text: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in text.splitlines())


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing small all-scalar mappings and lists on one line, like examples/."""

    def represent_dict(self, data: dict[Any, Any]) -> yaml.Node:
        flow = len(data) <= 4 and all(_scalar(v) for v in data.values())
        return self.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)

    def represent_list(self, data: list[Any]) -> yaml.Node:
        flow = all(_scalar(v) for v in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


_Dumper.add_representer(dict, _Dumper.represent_dict)
_Dumper.add_representer(list, _Dumper.represent_list)
# int subclasses (YAML 1.1 base-60 numbers as read by the config loader) are integers
_Dumper.add_multi_representer(int, lambda d, v: d.represent_int(int(v)))


def dump_yaml(data: Any) -> str:
    """YAML text: keys in order; small mappings of scalars and lists of scalars on one line."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _write(path: str, text: str, err: TextIO) -> bool:
    """Write `text` to `path` (a temporary file renamed over it); False after a one-line error."""
    try:
        replace_file(path, text)
    except OSError as problem:
        print(f"sdn-shadow template render: {path}: cannot write "
              f"({problem.strerror or problem})", file=err)
        return False
    return True


def _report(problem: TemplateError, err: TextIO) -> None:
    for line in problem.lines():
        print(line, file=err)


def _seconds(option: str, text: str) -> float:
    """A positive finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"{option}: must be a positive number of seconds, not {text}")
    return value


def _level(text: str) -> float:
    from sdn_shadow.forecast.command import fraction

    return fraction("--level", text)
