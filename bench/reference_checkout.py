"""Importing the user's own NVlabs checkout for the reference bench (bench/reference_nvlabs.py).

The StyleGAN2 networks module of a stylegan2-ada-pytorch (`training.networks`) or stylegan3
(`training.networks_stylegan2`) checkout is imported from its folder into the bench process only;
nothing of it is copied anywhere. What its code needs and this environment lacks is patched in
memory only, and every patch is listed in the report.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import subprocess
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vjgan.errors import VjganError

# (flavour, module): stylegan3 keeps its StyleGAN2 in networks_stylegan2.py.
_FLAVOURS = (("stylegan3", "training.networks_stylegan2"), ("stylegan2-ada-pytorch", "training.networks"))
_PACKAGES = ("training", "torch_utils", "dnnlib")  # the checkout's top-level packages networks imports
_OPS = ("bias_act", "upfirdn2d")  # its custom CUDA ops that the StyleGAN2 generator calls
_FORMAT = "--reference {path}: {what}; pass the folder of your own clone of NVlabs/stylegan2-ada-pytorch or NVlabs/stylegan3"


@dataclass(frozen=True)
class ReferenceCode:
    """The imported reference module and what the report says about it."""

    path: Path
    module: types.ModuleType
    flavour: str
    module_name: str
    repo: str | None
    commit: str | None
    dirty: bool | None
    patches: tuple[str, ...]
    import_warnings: tuple[str, ...]
    custom_ops: dict[str, str]  # op -> what ran; filled in while the reference runs

    def describe(self) -> dict[str, Any]:
        return {"repo": self.repo, "commit": self.commit, "dirty": self.dirty, "flavour": self.flavour,
                "module": self.module_name, "folder": self.path.name, "patches": list(self.patches),
                "import_warnings": list(self.import_warnings), "custom_ops": dict(self.custom_ops)}


# ---------------------------------------------------------------- importing the user's checkout

def _version_parser() -> Callable[[str], Any]:
    try:
        from packaging.version import parse
    except ImportError:  # torch vendors the same library
        from torch._vendor.packaging.version import parse
    return parse


def _fill_pkg_resources(mod: types.ModuleType) -> None:
    mod.parse_version = _version_parser()  # type: ignore[attr-defined]


def _fill_distutils_util(mod: types.ModuleType) -> None:
    def strtobool(_value: str) -> bool:
        raise NotImplementedError("distutils stub installed by vjgan's reference bench")
    mod.strtobool = strtobool  # type: ignore[attr-defined]


# Modules the reference imports but does not need for inference: name -> (fill the stub, why it is
# enough; None for a bare parent package). Served only when nothing installed provides the name.
_SHIMS: dict[str, tuple[Callable[[types.ModuleType], None], str | None]] = {
    "requests": (lambda mod: None, "dnnlib.util needs it only to download URLs, which the bench never does"),
    "pkg_resources": (_fill_pkg_resources, "removed in setuptools 81; conv2d_gradfix only calls its "
                                           "parse_version, served by packaging.version.parse"),
    "distutils": (lambda mod: None, None),
    "distutils.util": (_fill_distutils_util, "removed in Python 3.12; dnnlib.util needs strtobool only for an "
                                             "interactive prompt"),
}


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last entry on sys.meta_path: serves a _SHIMS stub when no real finder found the module."""

    def __init__(self) -> None:
        self.served: list[str] = []

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _SHIMS:
            return None
        is_package = any(name.startswith(fullname + ".") for name in _SHIMS)
        return importlib.util.spec_from_loader(fullname, self, is_package=is_package)

    def create_module(self, spec: Any) -> None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        _SHIMS[module.__name__][0](module)
        self.served.append(module.__name__)


@contextlib.contextmanager
def _import_shims(patches: list[str]) -> Iterator[None]:
    """Stand-ins, in memory only, for modules the reference imports but this environment lacks."""
    finder = _StubFinder()
    sys.meta_path.append(finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in finder.served:
            sys.modules.pop(name, None)  # later imports elsewhere see the real situation again
            why = _SHIMS[name][1]
            if why is not None:
                patches.append(f"stub module '{name}' while importing (not installed here; {why})")


def _forget_reference_modules() -> None:
    """Drop any earlier import of a checkout's packages, so PATH's own code is what gets imported."""
    for name in list(sys.modules):
        if name.split(".")[0] in _PACKAGES:
            del sys.modules[name]


def _guard_custom_ops(mode: str, status: dict[str, str], patches: list[str]) -> None:
    """Wrap each op module's `_init` (which builds the CUDA plugin) so a failed build falls back once.

    stylegan3's `_init` raises when the build fails; stylegan2-ada's upfirdn2d retries the build on every
    call. mode 'ref' never builds (its reference ops everywhere).
    """
    for name in _OPS:
        mod = sys.modules.get(f"torch_utils.ops.{name}")
        original = getattr(mod, "_init", None)
        if mod is None or not callable(original):
            continue
        status[name] = "not called (CPU tensors take its reference ops)"
        state: dict[str, bool] = {}

        def init(original: Callable[[], Any] = original, name: str = name, state: dict[str, bool] = state) -> bool:
            if "ok" not in state:
                if mode == "ref":
                    state["ok"], status[name] = False, "reference ops (--reference-ops ref)"
                else:
                    try:
                        state["ok"] = bool(original())
                        status[name] = "custom CUDA op" if state["ok"] else "build failed: reference ops"
                    except Exception as exc:  # noqa: BLE001 -- any build failure means its reference ops
                        state["ok"] = False
                        status[name] = f"build failed ({first_line(exc)}): reference ops"
            return state["ok"]

        mod._init = init  # type: ignore[attr-defined]
        patches.append(f"torch_utils.ops.{name}._init wrapped: the CUDA plugin build is tried once and a failure "
                       "falls back to its reference ops")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _repo_name(url: str | None) -> str | None:
    """'owner/name' from a git remote URL (https or ssh), else None."""
    if not url or not ("://" in url or "@" in url):
        return None
    parts = [p for p in url.rstrip("/").removesuffix(".git").replace(":", "/").split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def git_info(path: Path) -> tuple[str | None, str | None, bool | None]:
    """(repo 'owner/name' of remote origin, HEAD commit, uncommitted changes) of a checkout; None if unknown."""
    if not (path / ".git").exists():
        return None, None, None

    def git(*args: str) -> str | None:
        try:
            run = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return run.stdout.strip() if run.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return (_repo_name(git("config", "--get", "remote.origin.url")), git("rev-parse", "HEAD"),
            None if status is None else bool(status))


def load_reference(path: Path | str, ops: str = "auto") -> ReferenceCode:
    """Import the StyleGAN2 networks module of the checkout at `path` (a VjganError naming it if that fails)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise VjganError(_FORMAT.format(path=path, what="no such folder"))
    if not path.is_dir():
        raise VjganError(_FORMAT.format(path=path, what="is a file, not a folder"))
    found = [(f, m) for f, m in _FLAVOURS if (path / (m.replace(".", "/") + ".py")).is_file()]
    if not found:
        raise VjganError(_FORMAT.format(path=path, what="not a checkout of either (no training/networks.py or "
                                                        "training/networks_stylegan2.py in it)"))
    flavour, module_name = found[0]
    path = path.resolve()
    patches: list[str] = []
    _forget_reference_modules()
    sys.path.insert(0, str(path))
    try:
        with _import_shims(patches), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 -- whatever their import raises becomes one line
        _forget_reference_modules()
        raise VjganError(_FORMAT.format(path=path, what=f"importing {module_name} failed ({first_line(exc)})")) from exc
    finally:
        sys.path.remove(str(path))
    origin = Path(getattr(module, "__file__", "") or "").resolve()
    if path not in origin.parents or not callable(getattr(module, "Generator", None)):
        raise VjganError(_FORMAT.format(path=path, what=f"{module_name} came from {origin} or has no Generator"))
    status: dict[str, str] = {}
    _guard_custom_ops(ops, status, patches)
    repo, commit, dirty = git_info(path)
    seen = list(dict.fromkeys(f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught))
    return ReferenceCode(path, module, flavour, module_name, repo, commit, dirty, tuple(patches), tuple(seen), status)
