"""Read NVlabs StyleGAN2-ADA / StyleGAN3 network pickles (`network-snapshot-*.pkl`) without running them.

An NVlabs pickle is a program: each network carries its module's source text, and NVlabs' own loader
`exec`s it. Here a restricted unpickler resolves only the handful of globals such files reference,
each to a fresh, sealed stand-in: networks become inert `NvlabsRecord`s (the source is fingerprinted,
never executed), tensor blobs go through `torch.load(weights_only=True)`, and anything else is refused.
The generator `G_ema` is then rebuilt with vjgan's own classes from its init arguments and tensors.

Tensors are matched strictly against vjgan's state_dict: missing, unexpected or mis-shaped tensors are
errors. NVlabs registers `resample_filter`, `noise_const` and `w_avg` as persistent buffers, so they are
in the pickle and are loaded from it, like every other key; nothing is filled in from vjgan's defaults.
"""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vjgan.errors import VjganError

try:  # numpy >= 2 (and the forward-compat alias in late 1.26 releases)
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray

__all__ = ["ALLOWED_GLOBALS", "BARE_NETWORK_KEY", "DEFAULT_MAX_BYTES", "NvlabsRecord", "is_pickle",
           "load_nvlabs_pickle", "read_nvlabs_pickle"]

MIN_TORCH = (2, 10)
DEFAULT_MAX_BYTES = 4 * 1024**3
BARE_NETWORK_KEY = "<network>"  # read_nvlabs_pickle's key for a file that holds one bare network
_MAX_DEPTH = 64
_NOT_SAFE = "the file is not a safe NVlabs network pickle"
_NEVER = "which a StyleGAN network file never does"
_WANT = "pass a network-snapshot-*.pkl written by StyleGAN2-ADA / StyleGAN3 training"
_SG2_MAPPING = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier", "w_avg_beta"}
_SG2_SYNTHESIS = {"channel_base", "channel_max", "num_fp16_res", "conv_clamp", "architecture", "resample_filter",
                  "use_noise", "activation", "kernel_size", "fp16_channels_last", "fused_modconv_default"}
_TOP_INTS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")


class _Refused(pickle.UnpicklingError):
    """Raised inside the unpickler when the file asks for something a network file never needs."""


class NvlabsRecord:
    """One NVlabs persistent network, read as data: class name, source fingerprint, saved `__dict__`."""

    __slots__ = ("class_name", "version", "module_src_len", "module_src_sha256", "state")

    def __init__(self, class_name: str, version: Any, module_src: str, state: dict[str, Any]) -> None:
        self.class_name = class_name
        self.version = version
        self.module_src_len = len(module_src)
        self.module_src_sha256 = hashlib.sha256(module_src.encode("utf-8", "surrogatepass")).hexdigest()
        self.state = state

    def __setstate__(self, state: Any) -> None:
        raise _Refused(f"the pickle modifies a network record after creating it (BUILD), {_NEVER}")

    def __repr__(self) -> str:
        return f"NvlabsRecord({self.class_name!r}, module_src={self.module_src_len} chars)"


class _SealedType(type):
    """Metaclass whose classes refuse attribute assignment and BUILD on the class itself."""

    def __setattr__(cls, name: str, value: Any) -> None:
        raise _Refused(f"the pickle modifies {cls.pickled_as} (attribute {name!r}), {_NEVER}")

    @property
    def __setstate__(cls) -> Any:  # a data descriptor here wins over the instances' __setstate__
        def refuse(state: Any) -> None:
            raise _Refused(f"the pickle modifies {cls.pickled_as} (BUILD), {_NEVER}")
        return refuse


class EasyDictData(dict, metaclass=_SealedType):
    """What `dnnlib.util.EasyDict` becomes: a plain dict (NEWOBJ needs a class, so this is one)."""

    pickled_as = "dnnlib.util.EasyDict"

    def __setstate__(self, state: Any) -> None:
        # Pickles written by Python < 3.11 add an empty BUILD after every dict subclass instance.
        if not _empty(state):
            raise _Refused(f"the pickle sets attributes on an EasyDict, {_NEVER}")


class _SafeCallable:
    """A fresh, frozen stand-in for one allow-listed global: BUILD on it is refused, never forwarded."""

    __slots__ = ("name", "_fn")

    def __init__(self, name: str, fn: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_fn", fn)

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __setattr__(self, name: str, value: Any) -> None:
        raise _Refused(f"the pickle modifies {self.name} (attribute {name!r}), {_NEVER}")

    def __setstate__(self, state: Any) -> None:
        raise _Refused(f"the pickle modifies {self.name} (BUILD), {_NEVER}")


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise _Refused(what)


def _empty(x: Any) -> bool:
    return x is None or (type(x) in (dict, collections.OrderedDict) and not x)


def _ordered_dict(*args: Any) -> collections.OrderedDict:
    _require(len(args) <= 1, "collections.OrderedDict is called with more than one argument")
    return collections.OrderedDict(*args)


def _rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any,
                       metadata: Any = None) -> torch.Tensor:
    _require(isinstance(storage, torch.storage.TypedStorage), "a tensor is rebuilt from something not a storage")
    for part in (size, stride):
        _require(isinstance(part, tuple) and all(type(n) is int for n in part), "a tensor has a malformed size/stride")
    _require(type(offset) is int and isinstance(requires_grad, bool), "a tensor has malformed arguments")
    _require(_empty(hooks) and _empty(metadata), "a tensor carries backward hooks or extra metadata")
    return torch._utils._rebuild_tensor(storage, offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any, hooks: Any) -> torch.nn.Parameter:
    _require(isinstance(data, torch.Tensor) and isinstance(requires_grad, bool) and _empty(hooks),
             "a parameter has malformed arguments or backward hooks")
    return torch.nn.Parameter(data, requires_grad=False)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if "GLOBAL" in line] or lines or [type(exc).__name__]
    return useful[0]


def _load_from_bytes(blob: Any) -> torch.storage.TypedStorage:
    # NVlabs' torch.storage._load_from_bytes would call torch.load(weights_only=False): never that.
    _require(isinstance(blob, bytes), "a tensor storage blob is not bytes")
    try:
        storage = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise _Refused("an embedded tensor blob was refused by torch's weights-only loader "
                       f"({_first_line(exc)})") from exc
    _require(isinstance(storage, torch.storage.TypedStorage), "an embedded tensor blob holds no tensor storage")
    return storage


def _np_dtype(obj: Any, align: Any = False, copy: Any = False) -> np.dtype:
    _require(isinstance(obj, str), "numpy.dtype is called with a non-string type code")
    dtype = np.dtype(obj, bool(align), True)  # always a copy, so BUILD never touches numpy's own dtypes
    _require(dtype.kind in "biufc", f"numpy dtype {obj!r} is not a plain number type")
    return dtype


def _np_scalar(dtype: Any, data: Any = None) -> Any:
    _require(isinstance(dtype, np.dtype) and not dtype.hasobject and isinstance(data, bytes)
             and len(data) == dtype.itemsize, "a numpy scalar has malformed arguments")
    return _multiarray.scalar(dtype, data)


def _np_reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    _require(isinstance(subtype, _SafeCallable) and subtype.name == "numpy.ndarray"
             and isinstance(shape, tuple) and isinstance(typecode, bytes), "a numpy array has malformed arguments")
    return _multiarray._reconstruct(np.ndarray, shape, typecode)


def _ndarray_token(*args: Any) -> Any:
    raise _Refused("the pickle calls numpy.ndarray directly")


def _persistent_obj(meta: Any) -> NvlabsRecord:
    # NVlabs' version execs meta['module_src'] and instantiates a class from it; this one keeps data only.
    _require(isinstance(meta, dict), "a persistent network has no metadata dict")
    src, name, state = meta.get("module_src"), meta.get("class_name"), meta.get("state")
    _require(meta.get("type") == "class" and isinstance(src, str) and isinstance(name, str)
             and isinstance(state, dict), "a persistent network has malformed metadata")
    return NvlabsRecord(name, meta.get("version"), src, dict(state))


_WRAPPED = {
    "builtins.set": set,  # protocol 2-3 pickles spell sets as set([...])
    "builtins.frozenset": frozenset,
    "collections.OrderedDict": _ordered_dict,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch.storage._load_from_bytes": _load_from_bytes,
    "torch_utils.persistence._reconstruct_persistent_obj": _persistent_obj,
    "numpy.dtype": _np_dtype,
    "numpy.ndarray": _ndarray_token,
    **{f"{mod}.{name}": fn for mod in ("numpy.core.multiarray", "numpy._core.multiarray")
       for name, fn in (("scalar", _np_scalar), ("_reconstruct", _np_reconstruct))},
}
ALLOWED_GLOBALS = frozenset(_WRAPPED) | {"dnnlib.util.EasyDict"}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        key = f"{module}.{name}"
        if key == "dnnlib.util.EasyDict":  # NEWOBJ needs a class: a sealed one
            return EasyDictData
        if key in _WRAPPED:
            return _SafeCallable(key, _WRAPPED[key])  # fresh per reference
        raise _Refused(f"the pickle calls {key}, {_NEVER}")

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused(f"the pickle uses a persistent id, {_NEVER}")


def is_pickle(path: str | Path) -> bool:
    """True if the file starts like a binary pickle (0x80, protocol 2-5); False for torch.save zips (b'PK')."""
    try:
        with open(path, "rb") as f:
            return _pickle_head(f.read(2))
    except OSError:
        return False


def _pickle_head(head: bytes) -> bool:
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def read_nvlabs_pickle(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Safely unpickle an NVlabs snapshot: its top-level dict, each network as an `NvlabsRecord`.

    A file holding one bare network is returned as `{BARE_NETWORK_KEY: record}`. Nothing from the file
    is executed; anything outside `ALLOWED_GLOBALS` is refused with a VjganError naming it.
    """
    path = Path(path)
    match = re.match(r"(\d+)\.(\d+)", str(torch.__version__))
    if match is None or (int(match[1]), int(match[2])) < MIN_TORCH:
        raise VjganError(f"{path}: reading NVlabs pickles needs torch >= {MIN_TORCH[0]}.{MIN_TORCH[1]} "
                         f"(found {torch.__version__}); upgrade torch with `pip install -U torch`")
    if not path.is_file():
        what = "is a folder, not a network file" if path.is_dir() else "file not found"
        raise VjganError(f"{path}: {what}; {_WANT}")
    size = path.stat().st_size
    if size > max_bytes:
        raise VjganError(f"{path}: {size} bytes is over the {max_bytes}-byte limit for network pickles; "
                         f"{_WANT}, or raise max_bytes")
    with open(path, "rb") as f:
        head = f.read(2)
        if head == b"PK":
            raise VjganError(f"{path}: this is a torch.save zip checkpoint, not an NVlabs network pickle; {_WANT}")
        if not _pickle_head(head):
            raise VjganError(f"{path}: not a binary pickle (no protocol header); {_WANT}")
        f.seek(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TypedStorage deprecation noise from the tensor blobs
                top = _SafeUnpickler(f).load()
        except _Refused as exc:
            raise VjganError(f"{path}: refused to load: {exc} — {_NOT_SAFE}") from exc
        except Exception as exc:  # any other failure inside the unpickler means a damaged file
            raise VjganError(f"{path}: not a readable pickle ({type(exc).__name__}: {_first_line(exc)}); "
                             "the file is truncated or corrupt — download or copy it again") from exc
    if isinstance(top, NvlabsRecord):
        return {BARE_NETWORK_KEY: top}
    if not isinstance(top, dict):
        raise VjganError(f"{path}: the pickle holds a {type(top).__name__}, not a snapshot dict or a network; {_WANT}")
    return dict(top)


def _jsonable(path: Path, where: str, value: Any) -> Any:
    """Init-argument values as JSON types (numpy scalars -> Python, EasyDict -> dict, tuples -> lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(path, f"{where}.{k}", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(path, where, v) for v in value]
    raise VjganError(f"{path}: G_ema init argument '{where}' is a {type(value).__name__}, which vjgan cannot use; "
                     "the generator was built with options vjgan does not support")


def _pick_generator(path: Path, top: dict[str, Any]) -> NvlabsRecord:
    if BARE_NETWORK_KEY in top:
        rec, what = top[BARE_NETWORK_KEY], "the network"
    elif "G_ema" in top:
        rec, what = top["G_ema"], "'G_ema'"
    else:
        found = ", ".join(sorted(map(str, top))) or "none"
        raise VjganError(f"{path}: no 'G_ema' generator in the pickle (found keys: {found}); {_WANT}")
    if not isinstance(rec, NvlabsRecord):
        raise VjganError(f"{path}: {what} is a {type(rec).__name__}, not an NVlabs network; {_WANT}")
    if rec.class_name.rsplit(".", 1)[-1] != "Generator":  # NVlabs stores 'Generator'; accept dotted names too
        raise VjganError(f"{path}: {what} is a {rec.class_name}, not a Generator; pass a file holding a generator")
    return rec


def _architecture(path: Path, rec: NvlabsRecord) -> tuple[str, type[torch.nn.Module]]:
    from vjgan.gan import modelfile  # at call time: the StyleGAN3 class is registered there
    from vjgan.gan.stylegan2 import Generator

    synthesis = _entries(path, rec, "_modules").get("synthesis")
    if not isinstance(synthesis, NvlabsRecord):
        raise VjganError(f"{path}: the generator has no synthesis network; {_WANT}")
    children = set(_entries(path, synthesis, "_modules"))
    if "networks_stylegan3" in rec.class_name or "input" in children:
        cls = modelfile.ARCHITECTURES.get("stylegan3")
        if cls is None:
            raise VjganError(f"{path}: this is a StyleGAN3 (alias-free) generator, which this vjgan cannot run yet; "
                             "use a StyleGAN2 / StyleGAN2-ADA network pickle")
        return "stylegan3", cls
    if "b4" in children:
        return "stylegan2", Generator
    raise VjganError(f"{path}: unrecognised synthesis network (submodules: {', '.join(sorted(children))}); {_WANT}")


def _init_kwargs(path: Path, rec: NvlabsRecord, arch: str) -> dict[str, Any]:
    args, kwargs = rec.state.get("_init_args", ()), rec.state.get("_init_kwargs", {})
    if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict) or len(args) > len(_TOP_INTS):
        raise VjganError(f"{path}: the generator's saved init arguments are malformed; {_WANT}")
    config = {str(k): _jsonable(path, str(k), v) for k, v in {**dict(zip(_TOP_INTS, args)), **kwargs}.items()}
    for key in _TOP_INTS:
        value = config.get(key, 3 if key == "img_channels" else None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise VjganError(f"{path}: G_ema init argument '{key}' must be a non-negative integer, got {value!r}")
        config[key] = value
    if arch != "stylegan2":
        return config  # the registered class checks its own arguments
    mapping = config.pop("mapping_kwargs", None) or {}
    synthesis = config.pop("synthesis_kwargs", None) or {}
    if not isinstance(mapping, dict) or not isinstance(synthesis, dict):
        raise VjganError(f"{path}: G_ema init arguments mapping_kwargs/synthesis_kwargs must be dicts")
    synthesis = {**synthesis, **{k: config.pop(k) for k in list(config) if k not in _TOP_INTS}}
    for where, given, known in (("mapping_kwargs", mapping, _SG2_MAPPING),
                                ("synthesis_kwargs", synthesis, _SG2_SYNTHESIS)):
        for key, value in given.items():
            if key not in known:
                raise VjganError(f"{path}: G_ema init argument '{where}.{key}' = {value!r} is not supported by vjgan's "
                                 "StyleGAN2; the network uses options vjgan cannot reproduce")
    if synthesis.get("architecture", "skip") != "skip":
        raise VjganError(f"{path}: G_ema uses architecture={synthesis['architecture']!r}; vjgan's StyleGAN2 runs only "
                         "architecture='skip' (the StyleGAN2 default) — use a pickle trained with it")
    return {**config, "mapping_kwargs": mapping, "synthesis_kwargs": synthesis}


def _entries(path: Path, rec: NvlabsRecord, group: str) -> dict[str, Any]:
    entries = rec.state.get(group, {})
    if not isinstance(entries, dict):
        raise VjganError(f"{path}: network {rec.class_name} has a malformed '{group}' entry; {_WANT}")
    return entries


def _collect(path: Path, rec: NvlabsRecord, prefix: str, out: dict[str, torch.Tensor], depth: int = 0) -> None:
    """Every saved tensor of rec and its submodules, keyed like a state_dict ('synthesis.b4.const')."""
    if depth > _MAX_DEPTH:
        raise VjganError(f"{path}: networks nested deeper than {_MAX_DEPTH} levels; {_WANT}")
    skip = rec.state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        for name, tensor in _entries(path, rec, group).items():
            if tensor is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise VjganError(f"{path}: '{prefix}{name}' is a {type(tensor).__name__}, not a tensor; {_WANT}")
            out[f"{prefix}{name}"] = tensor
    for name, child in _entries(path, rec, "_modules").items():
        if child is None:
            continue
        if not isinstance(child, NvlabsRecord):
            raise VjganError(f"{path}: submodule '{prefix}{name}' is a {type(child).__name__}, not an NVlabs network")
        _collect(path, child, f"{prefix}{name}.", out, depth + 1)


def _load_tensors(path: Path, G: torch.nn.Module, arch: str, found: dict[str, torch.Tensor]) -> None:
    expected = {k: tuple(v.shape) for k, v in G.state_dict().items()}
    for key in expected:
        if key not in found:
            raise VjganError(f"{path}: tensor '{key}' is missing from G_ema; the pickle's layers do not match a "
                             f"{arch} generator with its own init arguments")
    extra = sorted(found.keys() - expected.keys())
    if extra:
        raise VjganError(f"{path}: G_ema has tensor '{extra[0]}' that vjgan's {arch} generator does not use; "
                         "the network has layers vjgan cannot run")
    tensors = {}
    for key, shape in expected.items():
        t = found[key].detach()
        if tuple(t.shape) != shape:
            raise VjganError(f"{path}: tensor '{key}' has shape {list(t.shape)} in the pickle but the generator "
                             f"built from its init arguments needs {list(shape)}")
        if not t.is_floating_point():
            raise VjganError(f"{path}: tensor '{key}' has dtype {t.dtype}; network tensors must be floating point")
        t = t.to("cpu", torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise VjganError(f"{path}: tensor '{key}' contains NaN or infinity; the network is corrupt")
        tensors[key] = t
    G.load_state_dict(tensors, strict=True, assign=True)


def load_nvlabs_pickle(path: str | Path) -> torch.nn.Module:
    """Rebuild an NVlabs pickle's `G_ema` as a vjgan generator: eval mode, requires_grad False, fp32, CPU."""
    path = Path(path)
    rec = _pick_generator(path, read_nvlabs_pickle(path))
    arch, cls = _architecture(path, rec)
    config, found = _init_kwargs(path, rec, arch), {}
    _collect(path, rec, "", found)
    try:
        with torch.device("meta"):  # no memory, no RNG use: every saved value comes from the file
            G = cls(**config)
        if any(m._non_persistent_buffers_set for m in G.modules()):  # those are computed in __init__
            with torch.random.fork_rng(devices=[]):
                G = cls(**config)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise VjganError(f"{path}: cannot build a vjgan {arch} generator from G_ema's init arguments ({exc}); "
                         "the network uses options vjgan does not support") from exc
    _load_tensors(path, G, arch, found)
    return G.eval().requires_grad_(False)
