"""NVlabs network pickles: G_ema rebuilt as vjgan's own generator, and hostile pickles refused unrun.

Pickles here come from tests/nvlabs_writer.py, which writes the same opcode structure as NVlabs'
torch_utils.persistence without any NVlabs code.
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest
import torch
from nvlabs_writer import (
    SG3_EXTRA_GLOBALS,
    SNAPSHOT_GLOBALS,
    Call,
    discriminator_record,
    generator_record,
    record,
    referenced_globals,
    write_pickle,
    write_snapshot,
)

from vjgan.errors import VjganError
from vjgan.gan import modelfile, nvlabs
from vjgan.gan.nvlabs import BARE_NETWORK_KEY, is_pickle, load_nvlabs_pickle, read_nvlabs_pickle
from vjgan.gan.stylegan2 import Generator

TINY = dict(z_dim=16, w_dim=16, img_resolution=32, img_channels=3,
            mapping_kwargs={"num_layers": 2},
            synthesis_kwargs={"channel_base": 256, "channel_max": 32})


def tiny(c_dim: int = 0, seed: int = 0) -> Generator:
    """A seeded generator whose noise strengths and w_avg are non-zero, so both must really arrive."""
    torch.manual_seed(seed)
    G = Generator(c_dim=c_dim, **TINY).eval().requires_grad_(False)
    for name, p in G.named_parameters():
        if name.endswith("noise_strength"):
            p.fill_(0.3)
    G.mapping.w_avg.copy_(torch.randn(16))
    return G


def render(G: torch.nn.Module, seed: int = 1, psi: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(2, G.z_dim, generator=gen)
    c = torch.eye(G.c_dim)[:2] if G.c_dim else None
    return G(z, c, truncation_psi=psi, noise_mode="const")


def refused(path: Path, *words: str) -> str:
    with pytest.raises(VjganError) as info:
        load_nvlabs_pickle(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg, msg
    for word in words:
        assert word in msg, msg
    return msg


@pytest.mark.parametrize("c_dim", [0, 3])
def test_snapshot_g_ema_renders_exactly_like_the_source_network(tmp_path, c_dim):
    G = tiny(c_dim)
    path = tmp_path / "network-snapshot-000100.pkl"
    write_snapshot(path, G)
    assert is_pickle(path)
    G2 = load_nvlabs_pickle(path)
    assert type(G2) is Generator and not G2.training
    assert G2.init_kwargs == G.init_kwargs
    for t in (*G2.parameters(), *G2.buffers()):
        assert t.dtype == torch.float32 and t.device.type == "cpu" and not t.requires_grad
    assert torch.equal(render(G2), render(G))
    assert torch.equal(render(G2, psi=0.5), render(G, psi=0.5))  # w_avg came from the file
    assert not torch.equal(render(G2), render(tiny(c_dim, seed=1)))


def test_python37_era_pickles_and_bare_networks_load(tmp_path):
    # Python 3.7 wrote protocol 3 (sets via builtins.set) and an empty BUILD after every EasyDict.
    G = tiny()
    old = tmp_path / "old.pkl"
    data = write_snapshot(old, G, protocol=3, old_python=True)
    assert "builtins.set" in referenced_globals(data)
    ops = [op.name for op, _arg, _pos in pickletools.genops(data) if "PUT" not in op.name]
    assert ("EMPTY_DICT", "BUILD") in set(zip(ops, ops[1:]))  # the empty BUILD after each EasyDict
    assert torch.equal(render(load_nvlabs_pickle(old)), render(G))
    bare = tmp_path / "g_ema-only.pkl"
    write_pickle(generator_record(G), bare)
    assert set(read_nvlabs_pickle(bare)) == {BARE_NETWORK_KEY}
    assert torch.equal(render(load_nvlabs_pickle(bare)), render(G))
    only = tmp_path / "only.pkl"
    write_pickle({"G_ema": generator_record(G)}, only)
    assert torch.equal(render(load_nvlabs_pickle(only)), render(G))


def test_writer_output_references_exactly_the_nvlabs_globals(tmp_path):
    data = write_snapshot(tmp_path / "s.pkl", tiny())
    assert referenced_globals(data) == SNAPSHOT_GLOBALS
    data = write_snapshot(tmp_path / "s3.pkl", tiny(), sg3_arrays=True)
    assert referenced_globals(data) == SNAPSHOT_GLOBALS | SG3_EXTRA_GLOBALS
    assert referenced_globals(data) <= nvlabs.ALLOWED_GLOBALS
    top = read_nvlabs_pickle(tmp_path / "s3.pkl")
    synthesis = top["G_ema"].state["_modules"]["synthesis"]
    assert synthesis.state["in_size"].tolist() == [36, 36]
    assert top["D"].class_name == "Discriminator" and top["D"].state["mbstd_alpha"] == np.float32(0.5)


def test_reduce_to_os_system_is_refused_and_never_runs(tmp_path):
    sentinel = tmp_path / "ran"
    payload = Call(os.system, f"touch {sentinel}")
    path = tmp_path / "bad.pkl"
    write_snapshot(path, tiny(), extra={"training_set_kwargs": {"path": payload}})
    refused(path, f"{os.system.__module__}.system", "refused to load", "not a safe NVlabs network pickle")
    assert not sentinel.exists()
    pickle.loads(pickle.dumps(payload))  # control: the same payload under plain pickle does run
    assert sentinel.exists()


def test_embedded_module_source_is_fingerprinted_never_executed(tmp_path):
    sentinel = tmp_path / "ran"
    src = f"import pathlib\npathlib.Path({str(sentinel)!r}).write_text('ran')\nclass Generator: pass\n"
    path = tmp_path / "poisoned-src.pkl"
    G = tiny()
    write_snapshot(path, G, module_src=src)
    G2 = load_nvlabs_pickle(path)  # the load succeeds: module_src is data, never exec'd
    rec = read_nvlabs_pickle(path)["G_ema"]
    assert not sentinel.exists()
    assert rec.module_src_len == len(src) and rec.module_src_sha256 == hashlib.sha256(src.encode()).hexdigest()
    assert torch.equal(render(G2), render(G))
    exec(compile(src, "module_src", "exec"), {})  # control: the source does write the file when run
    assert sentinel.exists()


@pytest.mark.parametrize("zip_format", [True, False])
def test_storage_blob_with_a_payload_is_refused_by_the_weights_only_loader(tmp_path, zip_format):
    sentinel = tmp_path / "ran"
    buf = io.BytesIO()
    torch.save(Call(os.system, f"touch {sentinel}"), buf, _use_new_zipfile_serialization=zip_format)
    blob = buf.getvalue()
    path = tmp_path / "bad-blob.pkl"
    rec = generator_record(tiny())
    rec.meta["state"]["_buffers"]["evil"] = Call(torch.storage._load_from_bytes, blob)
    write_pickle({"G_ema": rec}, path)
    refused(path, "weights-only", f"{os.system.__module__}.system")
    assert not sentinel.exists()
    torch.load(io.BytesIO(blob), weights_only=False)  # control: NVlabs' own path would run it
    assert sentinel.exists()


def _build_state(slot_state: bool) -> bytes:
    """Opcodes: BUILD with a state setting attribute 'pwned' = 1 (as a slot state or a dict), then STOP."""
    key = b"X" + len(b"pwned").to_bytes(4, "little") + b"pwned"
    return (b"N}" + key + b"K\x01s\x86" if slot_state else b"}" + key + b"K\x01s") + b"b."


def _build_opcodes(module: str, name: str, slot_state: bool) -> bytes:
    """GLOBAL module.name, then BUILD on that global itself."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + _build_state(slot_state)


BUILD_TARGETS = {
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): lambda: torch._utils._rebuild_tensor_v2,
    ("torch.storage", "_load_from_bytes"): lambda: torch.storage._load_from_bytes,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy._core.multiarray", "scalar"): lambda: nvlabs._multiarray.scalar,
    ("builtins", "set"): lambda: set,
    ("dnnlib.util", "EasyDict"): lambda: nvlabs.EasyDictData,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): lambda: nvlabs._persistent_obj,
}


@pytest.mark.parametrize("slot_state", [True, False])
@pytest.mark.parametrize("target", list(BUILD_TARGETS), ids=".".join)
def test_build_on_an_allowed_global_never_patches_the_real_object(tmp_path, target, slot_state):
    path = tmp_path / "build.pkl"
    path.write_bytes(_build_opcodes(*target, slot_state))
    with pytest.raises(VjganError, match=r"build\.pkl: refused to load: the pickle modifies .*\(BUILD\)"):
        read_nvlabs_pickle(path)
    assert not hasattr(BUILD_TARGETS[target](), "pwned")
    assert not hasattr(nvlabs._SafeCallable, "pwned")
    G = tiny()  # and later loads are unaffected
    write_snapshot(tmp_path / "ok.pkl", G)
    assert torch.equal(render(load_nvlabs_pickle(tmp_path / "ok.pkl")), render(G))


def test_build_setting_attributes_on_an_easydict_instance_is_refused(tmp_path):
    path = tmp_path / "easydict.pkl"
    path.write_bytes(b"\x80\x02cdnnlib.util\nEasyDict\n)\x81" + _build_state(slot_state=False))
    with pytest.raises(VjganError, match="refused to load: the pickle sets attributes on an EasyDict"):
        read_nvlabs_pickle(path)


def test_control_build_opcodes_do_patch_a_function_under_plain_pickle():
    real = torch._utils._rebuild_tensor_v2
    try:
        pickle.loads(_build_opcodes("torch._utils", "_rebuild_tensor_v2", slot_state=True))
        assert real.pwned == 1  # what the fresh stand-ins protect against
    finally:
        real.__dict__.pop("pwned", None)


def test_unknown_globals_and_persistent_ids_are_refused(tmp_path):
    path = tmp_path / "eval.pkl"
    path.write_bytes(pickle.dumps(Call(eval, "1 + 1")))
    refused(path, "builtins.eval")
    path.write_bytes(pickle.dumps(Call(getattr, 0, "real")))
    refused(path, "builtins.getattr")
    path.write_bytes(b"\x80\x02P0\n.")
    refused(path, "persistent id")
    sub = tmp_path / "module.pkl"
    write_pickle({"G_ema": torch.nn.Linear(2, 2)}, sub)  # a plain torch module: not an NVlabs record
    refused(sub, "refused to load", "torch.nn.modules.linear.Linear")


def test_damaged_and_foreign_files_give_one_line_errors(tmp_path):
    good = tmp_path / "good.pkl"
    data = write_snapshot(good, tiny())
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(data[: len(data) // 2])
    refused(cut, "truncated or corrupt")
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    refused(empty, "not a binary pickle")
    text = tmp_path / "notes.pkl"
    text.write_text("hello")
    refused(text, "not a binary pickle")
    zipped = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, zipped)
    refused(zipped, "torch.save zip")
    refused(tmp_path / "missing.pkl", "not found")
    assert not is_pickle(zipped) and not is_pickle(text) and not is_pickle(tmp_path / "missing.pkl")
    with pytest.raises(VjganError, match="limit"):
        read_nvlabs_pickle(good, max_bytes=1000)


def test_snapshots_without_a_generator_name_what_they_hold(tmp_path):
    path = tmp_path / "weights.pkl"
    write_pickle({"weights": torch.zeros(2), "step": 3}, path)
    refused(path, "G_ema", "found keys: step, weights")
    write_pickle({"G_ema": discriminator_record()}, path)
    refused(path, "Discriminator", "not a Generator")
    write_pickle([1, 2], path)
    refused(path, "list")


def test_unsupported_init_arguments_are_named(tmp_path):
    path = tmp_path / "g.pkl"
    G = tiny()
    write_snapshot(path, G, init_overrides={"synthesis_kwargs": {**G.init_kwargs["synthesis_kwargs"],
                                                                 "architecture": "resnet"}})
    refused(path, "architecture='resnet'", "'skip'")
    write_snapshot(path, G, init_overrides={"magic_knob": 7})
    refused(path, "magic_knob", "7")
    write_snapshot(path, G, init_overrides={"w_dim": 8})
    refused(path, "shape")


def test_tensor_mismatches_are_named(tmp_path):
    path = tmp_path / "g.pkl"
    G = tiny()
    write_snapshot(path, G, tensor_edit=lambda k, t: None if k == "synthesis.b8.conv0.noise_const" else t)
    refused(path, "'synthesis.b8.conv0.noise_const'", "missing")
    write_snapshot(path, G, tensor_edit=lambda k, t: torch.zeros(3, 3) if k == "mapping.fc0.weight" else t)
    refused(path, "'mapping.fc0.weight'", "[3, 3]", "[16, 16]")
    write_snapshot(path, G, tensor_edit=lambda k, t: t * float("nan") if k == "synthesis.b4.const" else t)
    refused(path, "'synthesis.b4.const'", "NaN")
    write_snapshot(path, G, tensor_edit=lambda k, t: t.long() if k == "mapping.w_avg" else t)
    refused(path, "'mapping.w_avg'", "floating point")
    rec = generator_record(G)
    rec.meta["state"]["_buffers"]["bogus"] = torch.zeros(1)
    write_pickle({"G_ema": rec}, path)
    refused(path, "'bogus'")


def test_stylegan3_uses_the_architecture_registered_at_call_time(tmp_path, monkeypatch):
    G = tiny()
    path = tmp_path / "sg3.pkl"
    write_snapshot(path, G, class_prefix="training.networks_stylegan3.")
    monkeypatch.delitem(modelfile.ARCHITECTURES, "stylegan3", raising=False)
    refused(path, "StyleGAN3")

    class StandIn(Generator):
        pass

    monkeypatch.setitem(modelfile.ARCHITECTURES, "stylegan3", StandIn)
    G3 = load_nvlabs_pickle(path)
    assert type(G3) is StandIn and torch.equal(render(G3), render(G))
    rec = generator_record(G)  # detected by layout too: StyleGAN3 synthesis starts with an 'input' layer
    rec.meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"] = collections.OrderedDict(
        input=record("SynthesisInput", {"_parameters": {}, "_buffers": {}, "_modules": {}}))
    write_pickle({"G_ema": rec}, path)
    monkeypatch.delitem(modelfile.ARCHITECTURES, "stylegan3")
    refused(path, "StyleGAN3")


def test_old_torch_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "g.pkl"
    write_snapshot(path, tiny())
    monkeypatch.setattr(torch, "__version__", "2.9.1")
    refused(path, ">= 2.10", "2.9.1")


@pytest.mark.parametrize("config", ["T", "R"])
def test_a_stylegan3_snapshot_rebuilds_with_our_stylegan3(tmp_path, config):
    """stylegan3's train.py saves G_ema with flat synthesis kwargs; T and R both come back exact."""
    from vjgan.gan import modelfile
    from vjgan.gan.stylegan3 import Generator as SG3

    r = config == "R"
    flat = dict(channel_base=512 if r else 256, channel_max=64 if r else 32, num_layers=4,
                magnitude_ema_beta=0.999, **(dict(conv_kernel=1, use_radial_filters=True) if r else {}))
    torch.manual_seed(3)
    G = SG3(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, mapping_kwargs={"num_layers": 2},
            **flat).eval().requires_grad_(False)
    path = tmp_path / "network-snapshot-sg3.pkl"
    init = dict(z_dim=16, w_dim=16, mapping_kwargs={"num_layers": 2}, c_dim=0, img_resolution=32,
                img_channels=3, **flat)
    write_snapshot(path, G, init_overrides={**init, "synthesis_kwargs": {}})  # flat, as train.py saves
    loaded = load_nvlabs_pickle(path)
    assert type(loaded) is SG3
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded(z, None), G(z, None))
    saved = modelfile.save_generator(loaded, tmp_path / "sg3.safetensors")
    again = modelfile.load_generator(saved)
    assert torch.equal(again(z, None), G(z, None))
