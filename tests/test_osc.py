"""OSC over real UDP loopback, sent from another process: set, query, list, feedback, and a receiver
that survives floods and hostile packets. Also the TouchOSC layout generated from the registry."""

import json
import logging
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
import zlib

import pytest

from vjgan.control.hooks import ShowState
from vjgan.control.live_control import ControlHook
from vjgan.control.osc import OscHook
from vjgan.control.osc_server import OscConfig
from vjgan.control.osc_wire import osc_address, param_name
from vjgan.control.presets import load_preset
from vjgan.control.registry import build_registry
from vjgan.control.touchosc import layout_controls, touchosc_layout
from vjgan.errors import VjganError
from vjgan.resources import PROJECT_ROOT

# A separate process that sends what a plan says and prints what it receives (NOTES §4: a sender in
# the same process starves on the GIL and proves nothing about floods).
SENDER = textwrap.dedent(r"""
    import json, random, socket, struct, sys, time
    from pythonosc.osc_bundle_builder import OscBundleBuilder, IMMEDIATELY
    from pythonosc.osc_message_builder import OscMessageBuilder

    plan = json.loads(sys.argv[1])
    target = ("127.0.0.1", plan["port"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sock.bind((plan.get("bind", "127.0.0.1"), 0))

    def msg(address, args):
        b = OscMessageBuilder(address)
        for a in args:
            b.add_arg(a)
        return b.build()

    def bundle_at(t_s, messages):
        b = OscBundleBuilder(t_s)
        for m in messages:
            b.add_content(m)
        return b.build().dgram

    def nested(depth):
        inner = msg("/vjgan/gen/psi", [0.3]).dgram
        for _ in range(depth):
            inner = b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", len(inner)) + inner
        return inner

    def garbage(rng, n):
        valid = msg("/vjgan/react/pulse/react", [1.0]).dgram
        out = []
        for i in range(n):
            k = i % 6
            if k == 0:
                out.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 120))))
            elif k == 1:
                out.append(valid[:rng.randint(1, len(valid) - 1)])  # truncated
            elif k == 2:
                out.append(b"/vjgan/react/sync\x00\x00\x00,s\x00\x00\xff\xfe\xfd\x00")  # not UTF-8
            elif k == 3:
                out.append(b"/vjgan/gen/psi\x00\x00,q\x00\x00\x00\x00\x00\x01")  # unknown type tag
            elif k == 4:
                out.append(b"#bundle\x00" + bytes(rng.getrandbits(8) for _ in range(30)))
            else:
                out.append(b"\x00" * rng.randint(1, 64))
        return out

    sent = 0
    def send(data):
        global sent
        while True:
            try:
                sock.sendto(data, target)
                sent += 1
                return
            except BlockingIOError:
                time.sleep(0.0005)

    start = time.monotonic()
    rng = random.Random(5)
    for step in plan["steps"]:
        kind = step[0]
        if kind == "sleep":
            time.sleep(step[1])
        elif kind == "msg":
            send(msg(step[1], step[2]).dgram)
        elif kind == "flood":  # address, count, last value
            address, count, last = step[1], step[2], step[3]
            for i in range(count):
                send(msg(address, [last * (i + 1) / count]).dgram)
        elif kind == "garbage":
            for data in garbage(rng, step[1]):
                send(data)
        elif kind == "future_bundle":  # applied now, not in an hour
            send(bundle_at(time.time() + 3600.0, [msg(step[1], step[2])]))
        elif kind == "nested":
            send(nested(step[1]))
        elif kind == "huge":
            send(msg("/vjgan/gen/psi", ["x" * step[1]]).dgram)
    print(json.dumps({"sent": sent}), flush=True)
    sock.settimeout(0.05)
    received = []
    end = time.monotonic() + plan.get("listen_s", 0.0)
    while time.monotonic() < end:
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            continue
        from pythonosc.osc_message import OscMessage
        m = OscMessage(data)
        received.append([m.address, list(m.params)])
    print(json.dumps({"received": received}), flush=True)
""")

PROBE = "react.class.shuffle_strength"  # no smoothing: applied exactly on the next frame


class FakeEngine:
    def __init__(self):
        from vjgan.react.params import ReactParams
        self.params = ReactParams()

    def set_params(self, params):
        self.params = params


class FakeChain:
    def __init__(self):
        self.strength = {}

    def set_strength(self, name, value):
        self.strength[name] = value


@pytest.fixture
def show():
    registry = build_registry([("contrast", 0.5), ("flash", 0.3)], ["drop"])
    hooks = []

    def start(**config):
        osc = OscHook(registry, OscConfig(port=0, **config))
        control = ControlHook(registry)
        hooks[:] = [osc, control]
        state = ShowState(FakeEngine(), FakeChain(), lambda m: None)
        return registry, osc, control, state

    yield start
    for h in hooks:
        h.close()


def sender(port, steps, listen_s=0.0, bind="127.0.0.1"):
    plan = json.dumps({"port": port, "steps": steps, "listen_s": listen_s, "bind": bind})
    return subprocess.Popen([sys.executable, "-c", SENDER, plan], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def frames_while(procs, hooks, state, fps=60.0, timeout_s=30.0):
    """Run show frames until every sender has finished; returns their parsed output."""
    t_s, deadline = 0.0, time.monotonic() + timeout_s
    while any(p.poll() is None for p in procs):
        assert time.monotonic() < deadline, "a sender hung"
        for h in hooks:
            h.before_frame(t_s, state)
        t_s += 1.0 / fps
        time.sleep(1.0 / fps / 2)
    outputs = []
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0, err
        merged = {}
        for line in out.splitlines():
            merged.update(json.loads(line))
        outputs.append(merged)
    return outputs


def test_addresses_map_to_parameter_names():
    assert osc_address("react.pulse.react") == "/vjgan/react/pulse/react"
    assert param_name("/vjgan/fx/flash/strength") == "fx.flash.strength"
    assert param_name("/other/thing") is None


def test_set_query_and_list_from_another_process(show):
    registry, osc, control, state = show()
    port = osc.server.address[1]
    child = sender(port, [["msg", "/vjgan/react/pulse/react", [1.5]],
                          ["msg", "/vjgan/react/sync", ["bar"]],
                          ["sleep", 0.4],
                          ["msg", "/vjgan/react/pulse/react", []],  # query
                          ["msg", "/vjgan/params", []]], listen_s=1.0)
    (out,) = frames_while([child], [osc, control], state)
    assert registry.get("react.pulse.react") == 1.5 and state.engine.params.sync == "bar"
    received = out["received"]
    assert ["/vjgan/react/pulse/react", [1.5]] in received
    listed = [args[0] for address, args in received if address == "/vjgan/params"]
    assert set(listed) == set(registry.names())
    assert ["/vjgan/params/end", [len(registry.names())]] in received
    row = next(args for address, args in received if address == "/vjgan/params" and args[0] == "gen.psi")
    assert row[1:6] == ["float", "/vjgan/gen/psi", -1.0, 2.0, ""]


def test_feedback_reaches_registered_clients_from_every_source_but_not_back_to_the_mover(show):
    registry, osc, control, state = show()
    port = osc.server.address[1]
    phone = sender(port, [["msg", "/vjgan/register", []]], listen_s=1.5)
    deadline = time.monotonic() + 5
    while osc.server.counters["registered"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    tablet = sender(port, [["sleep", 0.2], ["msg", "/vjgan/gen/psi", [0.25]]], listen_s=1.0)
    registry.set("fx.flash.strength", 0.75, "midi")  # another source: a MIDI knob
    registry.set("action.blackout", 1, "midi")  # triggers are not values: no feedback
    phone_out, tablet_out = frames_while([phone, tablet], [osc, control], state)
    phone_got = phone_out["received"]
    # registering brings the phone up to date, then changes follow
    assert ["/vjgan/react/pulse/react", [0.5]] in phone_got
    assert ["/vjgan/fx/flash/strength", [0.75]] in phone_got
    assert ["/vjgan/gen/psi", [0.25]] in phone_got
    assert not any(a.startswith("/vjgan/action/") for a, _ in phone_got)
    tablet_got = tablet_out["received"]
    assert ["/vjgan/gen/psi", [0.25]] not in tablet_got  # no echo to the device that moved it
    assert state.engine.params.psi != 1.0  # on its way to 0.25 (smoothed)


def test_flood_garbage_and_hostile_packets_leave_the_receiver_up(show, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    root_handlers = list(logging.getLogger().handlers)
    registry, osc, control, state = show()
    port = osc.server.address[1]
    steps = [["flood", "/vjgan/react/pulse/react", 10000, 3.5],
             ["garbage", 10000],
             ["sleep", 0.3],  # the buffer drains: what follows must each be handled as asserted
             ["msg", "/vjgan/gen/psi", [float("nan")]],
             ["msg", "/vjgan/gen/psi", [float("inf")]],
             ["msg", "/vjgan/gen/psi", ["high"]],
             ["msg", "/vjgan/no/such/thing", [1.0]],
             ["msg", "/vjgan/action/quit", [1.0]],  # the show is ended at the keyboard only
             ["msg", "/vjgan/react/motion/react", [99.0]],  # clamped to 4
             ["future_bundle", "/vjgan/react/truncation", [0.5]],  # stamped an hour ahead
             ["nested", 3000],  # too large
             ["nested", 300],  # fits the size cap, far too deep
             ["nested", 6],  # deeper than 4
             ["huge", 20000]]
    child = sender(port, steps)
    t0 = time.monotonic()
    (out,) = frames_while([child], [osc, control], state)
    elapsed = time.monotonic() - t0
    time.sleep(0.2)
    for h in (osc, control):  # a frame after the flood has drained
        h.before_frame(99.0, state)
    # a probe sent afterwards (no frames meanwhile): once it has arrived, the next frame applies it
    probe = sender(port, [["msg", osc_address(PROBE), [0.375]]])
    assert probe.wait(10) == 0
    deadline = time.monotonic() + 5
    while not osc.server.pending(PROBE):
        assert time.monotonic() < deadline, "the probe never arrived"
        time.sleep(0.005)
    for h in (osc, control):
        h.before_frame(100.0, state)
    assert state.engine.params.class_shuffle_strength == 0.375
    c = osc.server.counters
    assert osc.server.alive
    # every datagram is accounted for: handled, or dropped by the kernel on a full buffer (counted)
    assert c["datagrams"] + c["dropped_by_kernel"] == out["sent"] + 1
    steps_of_flood = registry.get("react.pulse.react") / 3.5 * 10000  # a value the flood sent
    assert steps_of_flood == pytest.approx(round(steps_of_flood), abs=1e-3) and steps_of_flood >= 1
    assert registry.get("react.truncation") == 0.5 and c["timetag_ignored"] == 1
    assert registry.get("react.motion.react") == 4.0 and c["clamped"] >= 1
    assert registry.get("gen.psi") == 1.0  # NaN, inf and a string were all refused
    assert c["nonfinite"] == 2 and c["type"] >= 1 and c["unknown_address"] == 1
    assert c["local_only"] == 1
    assert c["too_large"] == 2 and c["too_deep"] == 2
    assert c["malformed"] >= 1000
    assert c["accepted"] <= 10000 + 3  # no garbage datagram ever set a value (flood, 2 hostile, probe)
    assert c["internal_error"] == 0
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    # python-osc's packet logging never reaches the root logger (the show's log stays readable)
    assert not [r for r in caplog.records if "pythonosc" in r.pathname and r.name == "root"]
    assert logging.getLogger().handlers == root_handlers  # and no stderr handler slipped in
    print(f"flood: {out['sent']} datagrams in {elapsed:.2f} s, counters {dict(c)}")


def test_the_latest_value_per_address_wins_and_is_applied_once(show):
    registry, osc, control, state = show()
    port = osc.server.address[1]
    child = sender(port, [["flood", "/vjgan/gen/psi", 200, 1.5]])
    assert child.wait(10) == 0
    deadline = time.monotonic() + 5
    while osc.server.counters["accepted"] < 200:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    heard = []
    registry.subscribe(lambda n, v, s: heard.append((n, v)))
    osc.before_frame(0.0, state)
    assert heard == [("gen.psi", 1.5)] and osc.server.counters["coalesced"] == 199


def test_only_allowed_senders_are_heard(show):
    registry, osc, control, state = show(allow=("127.0.0.2",))
    port = osc.server.address[1]
    stranger = sender(port, [["msg", "/vjgan/gen/psi", [0.1]]])
    friend = sender(port, [["msg", "/vjgan/react/speed_fpm", [30.0]]], bind="127.0.0.2")
    frames_while([stranger, friend], [osc, control], state)
    assert registry.get("gen.psi") == 1.0 and registry.get("react.speed_fpm") == 30.0
    assert osc.server.counters["not_allowed"] == 1


def test_a_lan_bind_needs_an_allow_list():
    registry = build_registry()
    with pytest.raises(VjganError, match="--osc-allow"):
        OscHook(registry, OscConfig(port=0, bind="0.0.0.0"))
    hook = OscHook(registry, OscConfig(port=0, bind="0.0.0.0", allow=("192.168.1.0/24",)))
    hook.close()
    with pytest.raises(VjganError, match="--osc-allow 'phone'"):
        OscHook(registry, OscConfig(port=0, bind="0.0.0.0", allow=("phone",)))


def test_a_busy_port_is_one_line():
    registry = build_registry()
    first = OscHook(registry, OscConfig(port=0))
    try:
        with pytest.raises(VjganError, match=r"cannot listen for OSC on 127\.0\.0\.1:\d+.*--osc-port"):
            OscHook(registry, OscConfig(port=first.server.address[1]))
    finally:
        first.close()


def test_status_for_the_hud(show):
    registry, osc, control, state = show()
    text = osc.status()["OSC"]
    assert text.startswith(f"127.0.0.1:{osc.server.address[1]} · 0 clients")


# -- the TouchOSC layout ---------------------------------------------------------------------

def _layout_nodes(data):
    root = ET.fromstring(zlib.decompress(data))
    nodes = {}
    for node in root.iter("node"):
        props = {p.findtext("key"): p.find("value") for p in node.find("properties")}
        osc = node.find("messages/osc") if node.find("messages") is not None else None
        nodes[props["name"].text] = (node.get("type"), osc)
    return root, nodes


def test_touchosc_layout_has_faders_for_the_gains_and_buttons_for_actions_and_scenes():
    registry = build_registry([("contrast", 0.5), ("flash", 0.3)], ["drop", "calm"])
    root, nodes = _layout_nodes(touchosc_layout(registry))
    assert root.tag == "lexml" and root.get("version") == "3"
    kind, osc = nodes["react.pulse.react"]
    assert kind == "FADER"
    assert osc.findtext("path/partial/value") == "/vjgan/react/pulse/react"
    assert osc.findtext("receive") == "1"  # follows feedback
    arg = osc.find("arguments/partial")
    assert (arg.findtext("scaleMin"), arg.findtext("scaleMax")) == ("0", "4")
    assert nodes["fx.flash.strength"][0] == "FADER"
    for name in ("action.blackout", "action.tap", "action.safe_scene", "scene.drop", "scene.calm"):
        kind, osc = nodes[name]
        assert kind == "BUTTON" and osc.findtext("path/partial/value") == osc_address(name)
        assert osc.findtext("triggers/trigger/condition") == "RISE"
    kind, osc = nodes["connect"]
    assert osc.findtext("path/partial/value") == "/vjgan/register"
    faders, buttons = layout_controls(registry)
    assert len(faders) <= 12 and "action.quit" not in buttons


def test_the_shipped_touchosc_layout_is_current():
    """docs/touchosc/vjgan.tosc is the default preset's layout: regenerate it with
    `vjgan params --touchosc docs/touchosc/vjgan.tosc`."""
    shipped = (PROJECT_ROOT / "docs" / "touchosc" / "vjgan.tosc").read_bytes()
    assert shipped == touchosc_layout(load_preset("default").registry())


# -- the assembled control of a show ---------------------------------------------------------

def test_scene_save_over_osc_captures_the_show_into_the_preset_file(tmp_path):
    from vjgan.control.build import build_control_hooks
    from vjgan.control.presets import save_preset

    path = tmp_path / "show.toml"
    save_preset(load_preset("default"), path)
    control = build_control_hooks(load_preset(str(path)), str(path), osc_port=0, reload_preset=False)
    try:
        state = ShowState(FakeEngine(), FakeChain(), lambda m: None)
        port = control.osc.server.address[1]
        child = sender(port, [["msg", "/vjgan/react/pulse/react", [2.0]], ["sleep", 0.3],
                              ["msg", "/vjgan/scene/save", ["encore"]]])
        frames_while([child], control.hooks(), state)
        for h in control.hooks():  # the save command may have arrived after the last frame
            h.before_frame(10.0, state)
        saved = load_preset(str(path))
        encore = next(s for s in saved.scenes if s.name == "encore")
        assert encore.values["react.pulse.react"] == 2.0
        assert "scene.encore" in control.registry
    finally:
        control.close()


def test_a_busy_default_port_leaves_the_show_without_osc_but_running(monkeypatch):
    from vjgan.control import build

    first = OscHook(build_registry(), OscConfig(port=0))
    said = []
    try:
        monkeypatch.setattr(build, "DEFAULT_PORT", first.server.address[1])
        control = build.build_control_hooks(load_preset("default"), None, log=said.append)
        assert control.osc is None and said and "OSC off" in said[0]
        with pytest.raises(VjganError, match="cannot listen"):
            build.build_control_hooks(load_preset("default"), None, osc_port=first.server.address[1])
    finally:
        first.close()


@pytest.mark.parametrize("text, message", [
    ("[osc]\nport = 'x'\n", "{p}:2: osc.port = 'x' is not valid"),
    ("[osc]\nallow = ['192.168.1.0/24']\nbindd = '0.0.0.0'\n", "{p}:3: unknown field osc.bindd"),
    ("port = 9000\n", "put the settings in one [osc] table"),
])
def test_osc_settings_files_are_checked(tmp_path, text, message):
    from vjgan.control.build import load_osc_config

    path = tmp_path / "osc.toml"
    path.write_text(text)
    with pytest.raises(VjganError) as err:
        load_osc_config(path)
    assert message.format(p=path) in str(err.value)


def test_osc_settings_file_sets_up_a_lan_show(tmp_path):
    from vjgan.control.build import build_control_hooks

    path = tmp_path / "osc.toml"
    path.write_text("[osc]\nport = 0\nbind = '0.0.0.0'\nallow = ['192.168.1.0/24']\n"
                    "feedback = ['192.168.1.23:9000']\n")
    control = build_control_hooks(load_preset("default"), None, osc_config=path)
    try:
        assert control.osc.server.address[0] == "0.0.0.0"
        assert control.osc.server.feedback_targets() == [("192.168.1.23", 9000)]
    finally:
        control.close()
