"""Test helper: write pickles with the opcode structure of NVlabs network snapshots, without NVlabs code.

NVlabs' `torch_utils.persistence` pickles each network as a call `_reconstruct_persistent_obj(meta)`,
meta = dict(type='class', version=6, module_src=<module source>, class_name='Generator',
state=<the module's __dict__>). Here stand-in modules `torch_utils.persistence` and `dnnlib.util` exist
in sys.modules only while `write_pickle` runs, so plain `pickle` writes the same globals a real
snapshot references. Records are built from a vjgan network's module tree.
"""

from __future__ import annotations

import collections
import contextlib
import copyreg
import pickle
import pickletools
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

MODULE_SRC = "# stand-in for training/networks.py: its text is stored in the pickle, never run\n"
# vjgan class -> the name NVlabs' training/networks.py gives the same layer.
NVLABS_NAMES = {"FullyConnected": "FullyConnectedLayer", "ToRGB": "ToRGBLayer"}
# What write_snapshot's output references (numpy 2 spells numpy.core as numpy._core).
SNAPSHOT_GLOBALS = {
    "collections.OrderedDict", "dnnlib.util.EasyDict", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter", "torch.storage._load_from_bytes",
    "torch_utils.persistence._reconstruct_persistent_obj", "numpy.dtype", "numpy._core.multiarray.scalar",
}
SG3_EXTRA_GLOBALS = {"numpy._core.multiarray._reconstruct", "numpy.ndarray"}


_OLD_PYTHON = [False]  # True while writing like Python < 3.11: an empty BUILD after each EasyDict


class EasyDict(dict):
    """Same shape as dnnlib.util.EasyDict: a dict with attribute access."""

    def __reduce_ex__(self, protocol: int) -> Any:
        state = {} if _OLD_PYTHON[0] else None
        return (copyreg.__newobj__, (EasyDict,), state, None, iter(self.items()))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def _reconstruct_persistent_obj(meta: dict[str, Any]) -> Any:
    raise AssertionError("stand-in only: tests never load pickles with this")


EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"


class Record:
    """Pickles exactly like an NVlabs persistent network object."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reconstruct_persistent_obj, (self.meta,))


class Call:
    """Pickles as a call fn(*args) (how tests inject hostile or hand-made objects)."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args)


def record(class_name: str, state: dict[str, Any], module_src: str = MODULE_SRC, version: int = 6) -> Record:
    return Record(dict(type="class", version=version, module_src=module_src, class_name=class_name, state=state))


def module_record(
    module: torch.nn.Module,
    init_kwargs: dict[str, Any] | None = None,
    module_src: str = MODULE_SRC,
    class_prefix: str = "",
    tensor_edit: Callable[[str, torch.Tensor], torch.Tensor | None] | None = None,
    prefix: str = "",
) -> Record:
    """A record tree mirroring `module` and its children; tensor_edit(name, t) may replace or drop (None) tensors."""
    state = dict(module.__dict__)
    for group in ("_parameters", "_buffers"):
        entries = collections.OrderedDict()
        for name, t in module.__dict__[group].items():
            if tensor_edit is not None and t is not None:
                t = tensor_edit(prefix + name, t)
                if t is None:
                    continue
            entries[name] = t
        state[group] = entries
    state["_modules"] = collections.OrderedDict(
        (name, module_record(child, {}, module_src, class_prefix, tensor_edit, f"{prefix}{name}."))
        for name, child in module.named_children()
    )
    state["_init_args"], state["_init_kwargs"] = (), dict(init_kwargs or {})
    name = type(module).__name__
    return record(class_prefix + NVLABS_NAMES.get(name, name), state, module_src)


def generator_record(G: torch.nn.Module, init_overrides: dict[str, Any] | None = None, **kwargs: Any) -> Record:
    """G as NVlabs' training loop saves it: init kwargs with EasyDict mapping/synthesis kwargs."""
    cfg = G.init_kwargs
    init = dict(z_dim=cfg["z_dim"], w_dim=cfg["w_dim"], mapping_kwargs=EasyDict(cfg["mapping_kwargs"]),
                synthesis_kwargs=EasyDict(cfg["synthesis_kwargs"]), c_dim=cfg["c_dim"],
                img_resolution=cfg["img_resolution"], img_channels=cfg["img_channels"])
    init.update(init_overrides or {})
    return module_record(G, init, **kwargs)


def discriminator_record() -> Record:
    """A small stand-in D (the loader ignores it), holding a numpy scalar as real snapshots can."""
    fc = torch.nn.Linear(4, 1)
    state = dict(fc.__dict__)
    state.update(_init_args=(), _init_kwargs=dict(c_dim=0, img_resolution=np.int64(32)),
                 _parameters=collections.OrderedDict(fc._parameters), _buffers=collections.OrderedDict(),
                 _modules=collections.OrderedDict(), mbstd_alpha=np.float32(0.5))
    return record("Discriminator", state)


def write_snapshot(path: Path, G: torch.nn.Module, protocol: int = pickle.DEFAULT_PROTOCOL, old_python: bool = False,
                   sg3_arrays: bool = False, extra: dict[str, Any] | None = None, **record_kwargs: Any) -> bytes:
    """A network-snapshot-style dict {G, D, G_ema, augment_pipe, training_set_kwargs}."""
    g_ema = generator_record(G, **record_kwargs)
    if sg3_arrays:  # StyleGAN3 layers keep numpy arrays such as sampling rates and sizes
        g_ema.meta["state"]["_modules"]["synthesis"].meta["state"]["in_size"] = np.array([36, 36])
    data = dict(training_set_kwargs=dict(class_name="training.dataset.ImageFolderDataset", path="faces.zip",
                                         use_labels=bool(G.c_dim), max_size=None, xflip=False, resolution=32),
                G=generator_record(G), D=discriminator_record(), G_ema=g_ema, augment_pipe=None)
    data.update(extra or {})
    return write_pickle(data, path, protocol, old_python)


@contextlib.contextmanager
def fake_nvlabs_modules() -> Iterator[None]:
    """Register torch_utils(.persistence) and dnnlib(.util) stand-ins, and remove them afterwards."""
    names = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")
    assert not any(n in sys.modules for n in names), "real NVlabs modules are loaded; refusing to shadow them"
    mods = {n: types.ModuleType(n) for n in names}
    mods["torch_utils"].persistence = mods["torch_utils.persistence"]
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    mods["dnnlib"].util = mods["dnnlib.util"]
    mods["dnnlib.util"].EasyDict = EasyDict
    sys.modules.update(mods)
    try:
        yield
    finally:
        for n in names:
            sys.modules.pop(n, None)


def write_pickle(obj: Any, path: Path, protocol: int = pickle.DEFAULT_PROTOCOL, old_python: bool = False) -> bytes:
    """Pickle obj with the stand-in modules present; old_python mimics files written by Python 3.7-3.10."""
    _OLD_PYTHON[0] = old_python
    try:
        with fake_nvlabs_modules():
            data = pickle.dumps(obj, protocol=protocol)
    finally:
        _OLD_PYTHON[0] = False
    Path(path).write_bytes(data)
    return data


def referenced_globals(data: bytes) -> set[str]:
    """'module.name' of every GLOBAL / STACK_GLOBAL in a pickle, following memo gets for the strings."""
    found, memo = set(), {}
    prev = top = None
    for op, arg, _pos in pickletools.genops(data):
        if op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        if op.name == "STACK_GLOBAL":
            found.add(f"{prev}.{top}")
        if op.name == "MEMOIZE":
            memo[len(memo)] = top
        elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = top
        elif op.name != "FRAME":
            if op.name in ("GET", "BINGET", "LONG_BINGET"):
                arg = memo.get(arg)
            elif "UNICODE" not in op.name:
                arg = None  # only text pushes can name a STACK_GLOBAL
            prev, top = top, arg
    return found
