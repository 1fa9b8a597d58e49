"""GeneratorRunner options: precision, memory layout, CUDA graphs, output buffers, any generator module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_gan import tiny
from vjgan.errors import VjganError
from vjgan.gan import GeneratorRunner, default_model_path, load_generator
from vjgan.gan.dcgan import DCGANGenerator
from vjgan.gan.runner import bf16_supported

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


def _latents(n: int, dim: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(dim).astype(np.float32) for _ in range(n)]


def _dcgan(c_dim: int = 0, img_channels: int = 3, seed: int = 0) -> DCGANGenerator:
    torch.manual_seed(seed)
    return DCGANGenerator(z_dim=32, c_dim=c_dim, img_resolution=64, img_channels=img_channels,
                          channel_base=2048, channel_max=128).eval()


@pytest.fixture(scope="module")
def default_G() -> torch.nn.Module:
    return load_generator(default_model_path())


# -- CPU: precision and layout --

# Measured on this AMD EPYC (torch 2.13), 8 latents at psi 0.7 on the shipped (trained, 128 px) model
# against fp32 NCHW: fp32 channels_last: max 1 level; bf16 (either layout): max 10 levels, 33 % of
# values differ, mean 0.36 levels. Bounds below keep about 2x margin; bf16 must also really run in
# bf16 (at least 5 % of the values move).
CPU_COMBOS = [("fp32", True, 1, 1e-3, 0.01), ("bf16", False, 20, 0.6, 0.8), ("bf16", True, 20, 0.6, 0.8)]


@pytest.mark.parametrize(("dtype", "channels_last", "max_levels", "max_frac", "max_mean"), CPU_COMBOS)
def test_every_cpu_precision_and_layout_draws_the_fp32_picture(default_G, dtype, channels_last, max_levels,
                                                               max_frac, max_mean):
    if dtype == "bf16" and not bf16_supported(CPU):
        with pytest.raises(VjganError, match="dtype 'bf16': device 'cpu' has no native bfloat16"):
            GeneratorRunner(default_G, dtype=dtype)
        return
    ref = GeneratorRunner(default_G, dtype="fp32", channels_last=False)
    runner = GeneratorRunner(default_G, dtype=dtype, channels_last=channels_last)
    assert (runner.dtype, runner.channels_last, runner.cuda_graph) == (dtype, channels_last, False)
    zs = _latents(4, runner.z_dim)
    diff = np.stack([_diff(runner(z, None, 0.7), ref(z, None, 0.7)) for z in zs])
    assert diff.max() <= max_levels and (diff > 0).mean() <= max_frac and diff.mean() <= max_mean
    if dtype == "bf16":
        assert (diff > 0).mean() > 0.05
    assert _diff(runner(zs[0]), runner(zs[1])).mean() > 10  # still follows the latent


def test_cpu_auto_is_fp32_channels_last_and_warmed_up(default_G):
    runner = GeneratorRunner(default_G)
    assert (runner.dtype, runner.channels_last, runner.cuda_graph) == ("fp32", True, False)
    assert runner.warmup_ms > 0 and runner.capture_ms is None and runner.captures == 0
    cold = GeneratorRunner(default_G, warmup=False)
    assert cold.warmup_ms == 0.0
    z = _latents(1, runner.z_dim)[0]
    assert np.array_equal(runner(z, None, 0.5), cold(z, None, 0.5))


def test_the_channels_last_flag_sets_the_layout_the_convolutions_see():
    G = tiny()
    seen: list[bool] = []
    G.synthesis.b32.conv1.register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    z = _latents(1, 16)[0]
    for flag in (True, False):
        runner = GeneratorRunner(G, channels_last=flag, warmup=False)
        seen.clear()
        runner(z)
        runner.render_batch(np.stack([z, -z]))
        assert seen == [flag, flag]
    seen.clear()
    with torch.no_grad():
        G(torch.zeros(1, 16))  # outside a runner the module keeps its own layout (NHWC on CPU)
    assert seen == [True]


# -- output buffers --

def test_each_call_returns_its_own_frame_unless_reuse_output():
    runner = GeneratorRunner(tiny())
    za, zb = _latents(2, 16)
    a = runner(za)
    a_before = a.copy()
    b = runner(zb)
    assert not np.shares_memory(a, b) and np.array_equal(a, a_before) and not np.array_equal(a, b)
    assert a.flags["C_CONTIGUOUS"] and a.flags["WRITEABLE"]
    a[:] = 0  # the caller may scribble on its frame: the next frame is unaffected
    assert np.array_equal(runner(zb), b)

    shared = GeneratorRunner(tiny(), reuse_output=True)
    a2 = shared(za)
    assert np.array_equal(a2, a_before)
    b2 = shared(zb)
    assert np.shares_memory(a2, b2) and np.array_equal(a2, b)  # documented: the next call overwrites it


# -- any generator module --

def test_a_dcgan_module_renders_through_the_runner():
    G = _dcgan()
    runner = GeneratorRunner(G)
    assert (runner.z_dim, runner.c_dim, runner.resolution, runner.num_ws) == (32, 0, 64, None)
    za, zb = _latents(2, 32)
    frame = runner(za)
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
    assert frame.std() > 20 and np.mean((frame == 0) | (frame == 255)) < 0.2
    assert np.array_equal(frame, runner(za)) and _diff(frame, runner(zb)).mean() > 10
    assert np.array_equal(runner(za, psi=0.2), frame)  # no mapping.w_avg: psi does not apply
    with torch.no_grad():
        direct = G(torch.from_numpy(za)[None], None)
    expect = direct.add(1).mul(127.5).clamp(0, 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert _diff(frame, expect).max() <= 1  # the module's own picture (layout may move 1 level)
    batch = runner.render_batch(np.stack([za, zb]))
    assert _diff(batch, np.stack([frame, runner(zb)])).max() <= 1


def test_conditional_and_grey_dcgan_modules():
    runner = GeneratorRunner(_dcgan(c_dim=3))
    z = _latents(1, 32)[0]
    eye = np.eye(3, dtype=np.float32)
    assert _diff(runner(z, eye[0]), runner(z, eye[1])).mean() > 1
    with pytest.raises(VjganError, match="conditional"):
        runner(z, None)
    grey = GeneratorRunner(_dcgan(img_channels=1))(z)
    assert grey.shape == (64, 64, 3) and np.array_equal(grey[..., 0], grey[..., 2])


def test_dcgan_in_bf16_stays_close_to_fp32():
    # Measured: max 3 levels, 30 % of values differ (AMD EPYC, torch 2.13).
    G = _dcgan()
    if not bf16_supported(CPU):
        with pytest.raises(VjganError, match="no native bfloat16"):
            GeneratorRunner(G, dtype="bf16")
        return
    ref, low = GeneratorRunner(G, dtype="fp32"), GeneratorRunner(G, dtype="bf16")
    diff = np.stack([_diff(low(z), ref(z)) for z in _latents(4, 32)])
    assert diff.max() <= 6 and diff.mean() < 0.8


# -- errors --

class _NoSize(torch.nn.Module):
    z_dim, c_dim, img_channels = 4, 0, 3

    def forward(self, z, c=None):
        return z


class _WrongShape(torch.nn.Module):
    z_dim, c_dim, img_resolution, img_channels = 4, 0, 8, 3

    def forward(self, z, c=None):
        return torch.zeros(z.shape[0], 3, 4, 4)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dtype": "fp64"}, "dtype 'fp64' is unknown; use one of 'auto', 'fp32', 'fp16', 'bf16'"),
    ({"dtype": "fp16"}, "dtype 'fp16' runs on CUDA only; on CPU use dtype='fp32' or 'bf16'"),
    ({"cuda_graph": True}, r"CUDA graphs need a CUDA device; use cuda_graph='auto'"),
    ({"cuda_graph": "yes"}, "cuda_graph must be 'auto', True or False"),
    ({"channels_last": 1}, "channels_last must be 'auto', True or False"),
    ({"threads": 0}, "threads must be a positive integer"),
])
def test_bad_options_are_one_line_errors(kwargs, message):
    with pytest.raises(VjganError, match=message) as info:
        GeneratorRunner(tiny(), **kwargs)
    assert "\n" not in str(info.value)


def test_modules_that_break_the_contract_are_named():
    with pytest.raises(VjganError, match=r"_NoSize.img_resolution is None; a generator module needs"):
        GeneratorRunner(_NoSize())
    with pytest.raises(VjganError, match=r"_WrongShape returned \[1, 3, 4, 4\]; its forward must return \[N, 3, 8, 8"):
        GeneratorRunner(_WrongShape())
    with pytest.raises(VjganError, match="is not a torch.nn.Module"):
        GeneratorRunner(lambda z, c: z)


# -- CUDA (skipped where there is no CUDA device) --

@needs_cuda
def test_graph_replay_equals_eager_and_follows_every_input(default_G):
    graph = GeneratorRunner(default_G, device="cuda")
    eager = GeneratorRunner(default_G, device="cuda", cuda_graph=False)
    assert (graph.dtype, graph.cuda_graph, eager.cuda_graph) == ("fp16", True, False)
    zs = _latents(4, graph.z_dim)
    for z, psi in zip(zs, (1.0, 0.7, 0.3, 0.0)):
        diff = _diff(graph(z, None, psi), eager(z, None, psi))
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert _diff(graph(zs[0]), graph(zs[1])).mean() > 10  # the static input buffer is read each replay
    assert np.array_equal(graph(zs[0], None, 0.0), graph(zs[1], None, 0.0))  # psi 0: the average frame
    # A batch of one is the eager N=1 network (B > 1 scales activations instead of weights).
    assert _diff(graph.render_batch(zs[1][None], None, 0.7)[0], graph(zs[1], None, 0.7)).max() <= 1


@needs_cuda
def test_cuda_fp16_stays_close_to_fp32(default_G):
    # Not yet measured on a GPU: bounds set from the CPU bf16 figures (fp16 has 3 more mantissa bits).
    fp16 = GeneratorRunner(default_G, device="cuda", dtype="fp16")
    fp32 = GeneratorRunner(default_G, device="cuda", dtype="fp32")
    diff = np.stack([_diff(fp16(z, None, 0.7), fp32(z, None, 0.7)) for z in _latents(8, fp16.z_dim)])
    assert diff.max() <= 8 and diff.mean() < 0.5


@needs_cuda
def test_capture_happens_once_at_construction(default_G, monkeypatch):
    runner = GeneratorRunner(default_G, device="cuda")
    assert runner.capture_ms is not None and runner.capture_ms > 0 and runner.warmup_ms > 0
    assert runner.captures == 1

    def no_capture(*_a, **_k):
        raise AssertionError("a show frame started a CUDA graph capture")

    monkeypatch.setattr(torch.cuda, "graph", no_capture)
    frames = [runner(z) for z in _latents(10, runner.z_dim)]
    assert runner.captures == 1 and not np.shares_memory(frames[0], frames[1])
    shared = GeneratorRunner(default_G, device="cuda", cuda_graph=False, reuse_output=True)
    assert np.shares_memory(shared(_latents(1, runner.z_dim)[0]), shared(_latents(2, runner.z_dim)[1]))


@needs_cuda
def test_a_dcgan_module_captures_and_replays_on_cuda():
    G = _dcgan()
    graph = GeneratorRunner(G, device="cuda")
    eager = GeneratorRunner(G, device="cuda", cuda_graph=False)
    for z in _latents(3, 32):
        assert _diff(graph(z), eager(z)).max() <= 1
    if torch.cuda.is_bf16_supported(including_emulation=False):
        bf16 = GeneratorRunner(G, device="cuda", dtype="bf16")
        assert _diff(bf16(z), eager(z)).max() <= 8
