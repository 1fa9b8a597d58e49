"""The reference comparison of bench/generator_bench.py (--reference PATH), without the NVlabs code.

A fake checkout in tmp_path stands in for stylegan2-ada-pytorch: its training/networks.py wraps our own
Generator, so the import, the weight copy by name, the agreement check, the timing and the JSON are the
real code paths; a shifted variant must fail the agreement check, and bad paths give one-line errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import reference_checkout, reference_nvlabs  # noqa: E402
from bench.generator_bench import main  # noqa: E402
from vjgan.errors import VjganError  # noqa: E402
from vjgan.gan import default_model_path, load_generator  # noqa: E402

FAKE_DEP = "vjgan_test_missing_dependency"

NETWORKS = '''
import {dep}  # a module this environment lacks; the bench stubs it while importing
from torch_utils.ops import bias_act  # noqa: F401
import torch
from vjgan.gan.stylegan2 import Generator as _Ours, SynthesisNetwork as _Synthesis


class _Shifted(_Synthesis):
    def forward(self, ws, **kwargs):
        return super().forward(ws, **kwargs) + {shift}


class Generator(_Ours):
    synthesis_class = _Shifted

    # The constructor of the flavour's own Generator, strictly: stylegan2-ada takes synthesis_kwargs as
    # a dict, stylegan3's networks_stylegan2 takes them flat.
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={{}}, {synthesis}):
        super().__init__(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs=mapping_kwargs,
                         synthesis_kwargs=synthesis_kwargs)
        if {extra}:
            self.extra_weight = torch.nn.Parameter(torch.zeros([1]))
'''

BIAS_ACT = '''
CALLS = []


def _init():
    CALLS.append(1)
    raise RuntimeError("nvcc not found")
'''


def fake_checkout(root: Path, shift: float = 0.0, extra: bool = False, flavour: str = "stylegan2-ada-pytorch") -> Path:
    for package in ("training", "torch_utils", "torch_utils/ops"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    sg3 = flavour == "stylegan3"
    source = NETWORKS.format(dep=FAKE_DEP, shift=shift, extra=extra,
                             synthesis="**synthesis_kwargs" if sg3 else "synthesis_kwargs={}")
    (root / "training" / ("networks_stylegan2.py" if sg3 else "networks.py")).write_text(source)
    (root / "torch_utils" / "ops" / "bias_act.py").write_text(BIAS_ACT)
    return root


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch):
    """The fake dependency is missing here, and no checkout's packages outlive a test."""
    monkeypatch.setitem(reference_checkout._SHIMS, FAKE_DEP, (lambda mod: None, "test stand-in"))
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # the runs below use --threads 1 (robust on a busy 2-core machine)
    reference_checkout._forget_reference_modules()


def run(tmp_path: Path, checkout: Path, *extra: str) -> int:
    return main(["--reference", str(checkout), "--models", "default", "--runs", "4", "--chunk", "2",
                 "--mixed-cpu-runs", "1", "--threads", "1", "--out", str(tmp_path / "out.json"), *extra])


@pytest.mark.parametrize("flavour, module", [("stylegan2-ada-pytorch", "training.networks"),
                                             ("stylegan3", "training.networks_stylegan2")])
def test_compares_copied_weights_and_writes_the_report(tmp_path: Path, flavour: str, module: str) -> None:
    checkout = fake_checkout(tmp_path / "checkout", flavour=flavour)
    assert run(tmp_path, checkout) == 0
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["bench"] == "generator-reference" and report["device"] == "cpu" and report["torch_threads"] == 1
    ref = report["reference"]
    assert (ref["flavour"], ref["module"], ref["folder"]) == (flavour, module, "checkout")
    assert ref["commit"] is None and ref["repo"] is None  # not a git checkout
    assert any(FAKE_DEP in p for p in ref["patches"])
    assert any("bias_act._init wrapped" in p for p in ref["patches"])
    (group,) = report["groups"]
    assert group["group"] == "default" and group["init_kwargs"] == load_generator(default_model_path()).init_kwargs
    # Same network code and copied weights: the agreement check really ran on real images.
    assert group["agreement"]["max_abs_diff"] <= 1e-6 and group["agreement"]["image_abs_max"] > 0.1
    configs = group["configs"]
    assert set(configs) == {"reference-fp32", "ours-eager-fp32", "ours-runner"}
    assert all(c["runs"] == 4 and 0 < c["p50_ms"] <= c["p99_ms"] for c in configs.values())
    assert configs["ours-eager-fp32"]["max_uint8_diff_vs_reference_fp32"] == 0
    assert configs["ours-runner"]["max_uint8_diff_vs_reference_fp32"] <= 1
    ref_p50 = configs["reference-fp32"]["p50_ms"]
    for name in ("ours-eager-fp32", "ours-runner"):
        assert configs[name]["speedup_vs_reference"] == pytest.approx(ref_p50 / configs[name]["p50_ms"])
    assert group["summary"]["speedup_runner"] == configs["ours-runner"]["speedup_vs_reference"]
    assert group["summary"]["meets_goal"] == (group["summary"]["speedup_runner"] >= 2.0)
    assert group["reference_mixed_cpu"]["runs"] == 1


def test_disagreeing_reference_fails_loudly_without_a_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    checkout = fake_checkout(tmp_path / "shifted", shift=0.01)
    assert run(tmp_path, checkout) == 2
    err = capsys.readouterr().err.strip()
    assert "outputs disagree: max abs diff 0.01 > 0.001" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out.json").exists()


def test_each_checkout_is_imported_afresh(tmp_path: Path) -> None:
    """A second checkout in the same process gets its own code, not the first one's cached modules."""
    good = reference_checkout.load_reference(fake_checkout(tmp_path / "a"))
    shifted = reference_checkout.load_reference(fake_checkout(tmp_path / "b", shift=0.5))
    assert good.module is not shifted.module
    assert Path(shifted.module.__file__).parent.parent == (tmp_path / "b").resolve()


def test_mismatched_weight_names_are_named(tmp_path: Path) -> None:
    code = reference_checkout.load_reference(fake_checkout(tmp_path / "extra", extra=True))
    with pytest.raises(VjganError, match="its 'extra_weight' has no tensor of ours"):
        reference_nvlabs.build_reference(code, reference_nvlabs.build_model("default"))


def test_failed_custom_op_build_falls_back_once(tmp_path: Path) -> None:
    code = reference_checkout.load_reference(fake_checkout(tmp_path / "ops"))
    ops = sys.modules["torch_utils.ops.bias_act"]
    assert ops._init() is False and ops._init() is False
    assert ops.CALLS == [1]  # the failing build is tried once, not on every call
    assert code.custom_ops["bias_act"] == "build failed (RuntimeError: nvcc not found): reference ops"


@pytest.mark.parametrize("kind", ["missing", "file", "not-a-checkout"])
def test_bad_reference_path_is_one_line_naming_it(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / kind
    if kind == "file":
        path.write_text("not a folder")
    elif kind == "not-a-checkout":
        (path / "training").mkdir(parents=True)
    assert run(tmp_path, path) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "stylegan2-ada-pytorch" in err
    with pytest.raises(VjganError, match=str(path)):
        reference_checkout.load_reference(path)


def test_repo_name_from_remote_urls() -> None:
    assert reference_checkout._repo_name("https://github.com/NVlabs/stylegan3.git") == "NVlabs/stylegan3"
    assert reference_checkout._repo_name("git@github.com:NVlabs/stylegan2-ada-pytorch.git") == \
        "NVlabs/stylegan2-ada-pytorch"
    assert reference_checkout._repo_name("/home/me/mirror/stylegan3") is None  # a local path says nothing


def test_unknown_model_name_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run(tmp_path, fake_checkout(tmp_path / "ok"), "--models", "default-300") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--models default-300: unknown model" in err
    assert not (tmp_path / "out.json").exists()
