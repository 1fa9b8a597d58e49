"""OSC on the wire: addresses, python-osc helpers, strictness checks. No sockets here."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Iterable

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from vjgan.control.registry import ParamSpec
from vjgan.errors import VjganError

PREFIX = "/vjgan"
LIST_ADDRESS = f"{PREFIX}/params"
REGISTER_ADDRESS = f"{PREFIX}/register"
UNREGISTER_ADDRESS = f"{PREFIX}/unregister"

DEFAULT_PORT = 8000  # TouchOSC's default send port
TOUCHOSC_RECEIVE_PORT = 9000  # TouchOSC's default receive port (the layout registers it)


def osc_address(name: str) -> str:
    return f"{PREFIX}/{name.replace('.', '/')}"


def param_name(address: str) -> str | None:
    if not address.startswith(PREFIX + "/"):
        return None
    return address[len(PREFIX) + 1:].replace("/", ".")


class _QuietLogging:
    """Stands in for the `logging` module inside python-osc's parser modules, which log raw packet
    bytes through the *root* logger (and, through `logging.warning`, even install a stderr handler
    on it). Their records go to the `vjgan.osc.wire` logger instead, silent unless enabled."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("vjgan.osc.wire")
        self.logger.propagate = False
        self.logger.addHandler(logging.NullHandler())

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.logger, name, None)
        return method if method is not None else getattr(logging, name)


def silence_python_osc_logging() -> None:
    import pythonosc.dispatcher
    import pythonosc.osc_bundle
    import pythonosc.osc_message

    for module in (pythonosc.osc_message, pythonosc.osc_bundle, pythonosc.dispatcher):
        if not isinstance(getattr(module, "logging", None), _QuietLogging):
            module.logging = _QUIET  # type: ignore[attr-defined]


_QUIET = _QuietLogging()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_allow(entries: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise VjganError(f"--osc-allow {entry!r} is not an IP address or network — use e.g. "
                             "192.168.1.23 or 192.168.1.0/24") from None
    return tuple(nets)


def osc_value(spec: ParamSpec, value: Any) -> list[Any]:
    """A registry value as OSC arguments (bools as 1.0/0.0 floats, the way faders and toggles read)."""
    if spec.kind == "list":
        return list(value or ())
    if spec.kind in ("bool", "trigger"):
        return [1.0 if value else 0.0]
    if spec.kind == "int":
        return [int(value)]
    if spec.kind == "float":
        return [float(value)]
    return [str(value)]


def build_message(address: str, args: Iterable[Any]) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def complete(msg: OscMessage) -> OscMessage:
    """Refuse a message with arguments cut short (python-osc pads a cut float with zeros, which
    would turn a truncated packet into a value): it must re-encode to exactly its own size."""
    if msg.params and len(build_message(msg.address, msg.params)) != msg.size:
        raise Refused("malformed")
    return msg


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
