"""Test-wide environment: no display and no sound card needed (set before pygame/SDL loads)."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


import moderngl  # noqa: E402 - after the SDL settings above
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def ctx():
    """A headless EGL OpenGL context (Mesa llvmpipe here) for the effect-chain tests."""
    try:
        c = moderngl.create_standalone_context(backend="egl")
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"no EGL OpenGL context: {e}")
    yield c
    c.release()
