"""The OSC receiver: one thread, one socket, python-osc for the wire format only.

What the stock python-osc servers get wrong on a show network (measured, NOTES §4) is handled here:
a bundle's timetag is never slept on (messages apply on arrival), every datagram is parsed inside a
catch-all and counted by reason, packets are capped in size, bundle nesting and message count,
NaN/inf and wrong types are refused, numbers are clamped to the registry range, and the latest value
per address is kept for the next frame (a flood coalesces instead of queueing). The socket has an
8 MiB receive buffer. By default it listens on 127.0.0.1; a LAN address needs a sender allow-list.

Addresses: `/vjgan/<name with dots as slashes> value` sets, the same address without arguments
queries (the value is sent back), `/vjgan/params` lists every parameter, `/vjgan/register [port]`
asks for feedback (to that port, default the sender's), `/vjgan/unregister` stops it.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import struct
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage

from vjgan.control.osc_wire import (DEFAULT_PORT, LIST_ADDRESS, REGISTER_ADDRESS,
                                    UNREGISTER_ADDRESS, Refused, build_message, complete,
                                    is_loopback, osc_address, osc_value, param_name, parse_allow,
                                    silence_python_osc_logging)
from vjgan.control.registry import ControlError, Registry
from vjgan.errors import VjganError

_BUNDLE_HEADER = b"#bundle\x00"
_CMSG_SPACE = socket.CMSG_SPACE(4)
MAX_BUNDLES = 64  # per datagram, checked before python-osc recurses into nested bundles
Address = tuple[str, int]
LOCAL_ONLY = frozenset({"action.quit"})  # ending the show stays on the keyboard


@dataclass(frozen=True)
class OscConfig:
    port: int = DEFAULT_PORT
    bind: str = "127.0.0.1"
    allow: tuple[str, ...] = ()  # sender addresses or networks ("192.168.1.23", "192.168.1.0/24")
    feedback: tuple[Address, ...] = ()  # clients that always get feedback (host, port)
    max_clients: int = 16
    rcvbuf_bytes: int = 8 << 20
    max_packet_bytes: int = 8192
    max_bundle_depth: int = 4
    max_messages: int = 256  # per datagram
    list_interval_s: float = 1.0  # /vjgan/params answered at most this often per sender


class OscServer:
    """Receives on its own thread into `inbox` (latest value per parameter) and `fired` (triggers)."""

    def __init__(self, registry: Registry, config: OscConfig | None = None,
                 commands: Iterable[str] = ()) -> None:
        self.registry = registry
        self.config = config or OscConfig()
        self.commands = set(commands)  # addresses queued whole for the frame hook (set before the show)
        self._allow = parse_allow(self.config.allow)
        if not is_loopback(self.config.bind) and not self._allow:
            raise VjganError(f"--osc-bind {self.config.bind} listens on the network, and OSC has no "
                             "authentication — add --osc-allow with the controller's address (e.g. "
                             "--osc-allow 192.168.1.23) or a private subnet")
        silence_python_osc_logging()
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._inbox: dict[str, tuple[Any, str]] = {}
        self._fired: list[tuple[str, str]] = []
        self._commands: list[tuple[str, list[Any], str]] = []
        self._sync: list[Address] = []
        self.clients: OrderedDict[Address, None] = OrderedDict()  # feedback addresses, oldest first
        self._senders: dict[Address, Address] = {}  # sender address -> its feedback address
        self._host_ports: dict[str, int] = {}  # host -> port named by /vjgan/register
        self._fixed_clients = tuple(self.config.feedback)
        self._last_list: dict[str, float] = {}
        self.sock = self._open_socket()
        self.address: Address = self.sock.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vjgan-osc", daemon=True)
        self._thread.start()

    # -- socket --------------------------------------------------------------------------------
    def _open_socket(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.config.bind else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if opt is None:
                continue
            try:  # FORCE passes the system cap where we may; otherwise the cap applies
                sock.setsockopt(socket.SOL_SOCKET, opt, self.config.rcvbuf_bytes)
                break
            except OSError:
                continue
        try:  # Linux counts datagrams the kernel dropped on a full buffer (SO_RXQ_OVFL = 40)
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RXQ_OVFL", 40), 1)
        except OSError:
            pass
        try:
            sock.bind((self.config.bind, self.config.port))
        except OSError as exc:
            sock.close()
            raise VjganError(f"cannot listen for OSC on {self.config.bind}:{self.config.port}: "
                             f"{exc.strerror or exc} — pick another --osc-port or stop the program "
                             "using it") from None
        sock.settimeout(0.2)
        return sock

    @property
    def rcvbuf_bytes(self) -> int:
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.sock.close()

    # -- receive thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _flags, sender = self.sock.recvmsg(65536, _CMSG_SPACE)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                self.counters["socket_error"] += 1
                time.sleep(0.01)
                continue
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and len(value) >= 4:
                    self.counters["dropped_by_kernel"] = struct.unpack("=I", value[:4])[0]
            try:
                self._datagram(data, sender[:2])
            except Exception:  # noqa: BLE001 - no packet may stop the receiver
                self.counters["internal_error"] += 1

    def _allowed(self, host: str) -> bool:
        if not self._allow:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self._allow)

    def _datagram(self, data: bytes, sender: Address) -> None:
        self.counters["datagrams"] += 1
        if not self._allowed(sender[0]):
            self.counters["not_allowed"] += 1
            return
        if len(data) > self.config.max_packet_bytes:
            self.counters["too_large"] += 1
            return
        if len(data) % 4:  # OSC packets are whole 4-byte words; python-osc would pad a cut float
            self.counters["malformed"] += 1
            return
        try:
            messages = self._messages(data)
        except Refused as exc:
            self.counters[exc.reason] += 1
            return
        except Exception:  # noqa: BLE001 - python-osc raises many types (also RecursionError)
            self.counters["malformed"] += 1
            return
        for msg in messages:
            self._message(msg, sender)

    def _messages(self, data: bytes) -> list[OscMessage]:
        if not OscBundle.dgram_is_bundle(data):
            if not OscMessage.dgram_is_message(data):
                raise Refused("malformed")
            return [complete(OscMessage(data))]
        if data.count(_BUNDLE_HEADER) > MAX_BUNDLES:
            raise Refused("too_deep")  # checked before python-osc recurses into it
        out: list[OscMessage] = []
        stack = [(OscBundle(data), 1)]
        while stack:
            bundle, depth = stack.pop()
            if depth > self.config.max_bundle_depth:
                raise Refused("too_deep")
            if bundle.timestamp > time.time() + 1.0:
                self.counters["timetag_ignored"] += 1  # applied now; never slept on
            for item in bundle:
                if isinstance(item, OscBundle):
                    stack.append((item, depth + 1))
                else:
                    out.append(complete(item))
                if len(out) > self.config.max_messages:
                    raise Refused("too_many")
        self.counters["bundles"] += 1
        return out

    def _message(self, msg: OscMessage, sender: Address) -> None:
        address = msg.address
        args = list(msg.params)
        if address == LIST_ADDRESS:
            self._send_list(sender)
            return
        if address == REGISTER_ADDRESS:
            port = args[0] if args and isinstance(args[0], int) and 0 < args[0] < 65536 else None
            fb = self.register(sender, port)
            with self._lock:
                if fb not in self._sync:
                    self._sync.append(fb)
            self.counters["registered"] += 1
            return
        if address == UNREGISTER_ADDRESS:
            self.unregister(sender)
            return
        if address in self.commands:
            with self._lock:
                self._commands.append((address, args, f"osc:{sender[0]}:{sender[1]}"))
                del self._commands[:-16]
            self.counters["commands"] += 1
            return
        name = param_name(address)
        if name is None or name not in self.registry:
            self.counters["unknown_address"] += 1
            return
        if name in LOCAL_ONLY:
            self.counters["local_only"] += 1
            return
        spec = self.registry.spec(name)
        if not args:
            self.counters["queries"] += 1
            self.send(address, osc_value(spec, self.registry.get(name)), sender)
            return
        raw = args if spec.kind == "list" else args[0]
        try:
            value = self.registry.coerce(name, raw)
        except ControlError as exc:
            self.counters[exc.reason] += 1
            return
        if spec.kind in ("float", "int") and isinstance(raw, (int, float)) and value != raw:
            self.counters["clamped"] += 1
        self.register(sender)
        source = f"osc:{sender[0]}:{sender[1]}"
        with self._lock:
            if spec.kind == "trigger":
                if value:
                    self._fired.append((name, source))
                    del self._fired[:-64]
            else:
                if name in self._inbox:
                    self.counters["coalesced"] += 1
                self._inbox[name] = (value, source)
        self.counters["accepted"] += 1

    # -- clients -------------------------------------------------------------------------------
    def register(self, sender: Address, port: int | None = None) -> Address:
        """Send feedback to a client. A sender is registered by talking to us (feedback goes to
        the address it sent from); /vjgan/register PORT names the port its app listens on, which
        then holds for every later message from that host. Returns the feedback address."""
        with self._lock:
            if port is not None:
                self._host_ports[sender[0]] = port
            elif sender in self._senders:
                fb = self._senders[sender]
                if fb in self.clients:
                    self.clients.move_to_end(fb)
                    return fb
            fb = (sender[0], self._host_ports.get(sender[0], sender[1]))
            old = self._senders.get(sender)
            if old is not None and old != fb:
                self.clients.pop(old, None)
            self._senders[sender] = fb
            self.clients[fb] = None
            self.clients.move_to_end(fb)
            while len(self.clients) > self.config.max_clients:
                self.clients.popitem(last=False)
            while len(self._senders) > 4 * self.config.max_clients:
                self._senders.pop(next(iter(self._senders)))
            return fb

    def unregister(self, sender: Address) -> None:
        with self._lock:
            fb = self._senders.pop(sender, None)
            self._host_ports.pop(sender[0], None)
            if fb is not None:
                self.clients.pop(fb, None)

    def feedback_of(self, source: str) -> Address | None:
        """The feedback address of the client behind a change's source ("osc:HOST:PORT")."""
        if not source.startswith("osc:"):
            return None
        host, _, port = source[4:].rpartition(":")
        with self._lock:
            return self._senders.get((host, int(port))) if port.isdigit() else None

    def feedback_targets(self) -> list[Address]:
        with self._lock:
            return list(dict.fromkeys([*self._fixed_clients, *self.clients]))

    # -- sending -------------------------------------------------------------------------------
    def send(self, address: str, args: Iterable[Any], to: Address) -> bool:
        try:
            self.sock.sendto(build_message(address, args), to)
        except (OSError, ValueError, OverflowError):
            self.counters["send_failed"] += 1
            return False
        self.counters["sent"] += 1
        return True

    def send_value(self, name: str, to: Address) -> bool:
        spec = self.registry.spec(name)
        return self.send(osc_address(name), osc_value(spec, self.registry.get(name)), to)

    def _send_list(self, to: Address) -> None:
        now = time.monotonic()
        if now - self._last_list.get(to[0], -math.inf) < self.config.list_interval_s:
            self.counters["list_rate_limited"] += 1
            return
        self._last_list[to[0]] = now
        specs = self.registry.specs()
        for s in specs:
            value = osc_value(s, self.registry.get(s.name))
            self.send(LIST_ADDRESS, [s.name, s.kind, osc_address(s.name),
                                     "" if s.min is None else float(s.min),
                                     "" if s.max is None else float(s.max),
                                     s.unit, *value[:1]], to)
        self.send(f"{LIST_ADDRESS}/end", [len(specs)], to)

    # -- the frame side ------------------------------------------------------------------------
    def pending(self, name: str) -> bool:
        """Whether a value for `name` has arrived and waits for the next frame."""
        with self._lock:
            return name in self._inbox

    def take(self) -> "Received":
        """Everything received since the last call (the frame hook applies it)."""
        with self._lock:
            got = Received(self._inbox, self._fired, self._commands, self._sync)
            self._inbox, self._fired, self._commands, self._sync = {}, [], [], []
        return got


@dataclass(frozen=True)
class Received:
    values: dict[str, tuple[Any, str]]  # latest value per parameter, with its source
    fired: list[tuple[str, str]]  # triggers (name, source)
    commands: list[tuple[str, list[Any], str]]  # (address, arguments, source)
    sync: list[Address]  # clients that registered and want every current value
