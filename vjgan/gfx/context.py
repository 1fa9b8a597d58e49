"""OpenGL contexts: headless (EGL standalone) and attached to a pygame window.

Window contexts: pygame/SDL creates and makes current the window's GL context (EGL under the
`offscreen` and `wayland` drivers, GLX under `x11` unless SDL_VIDEO_X11_FORCE_EGL=1); moderngl then
attaches to *whatever is current* through `_moderngl.DefaultLoader` (eglGetCurrentContext first,
then glXGetCurrentContext). Plain `moderngl.create_context()` is not used: once any other moderngl
context exists in the process (e.g. a standalone EGL one) it switches to glcontext's x11 "detect"
mode, which fails on EGL windows with "glXGetCurrentContext: cannot detect OpenGL context".

Contexts are current on the thread that created them: render on that thread.
"""

from __future__ import annotations

import moderngl

from vjgan.errors import VjganError

GL_REQUIRE = 330


def _check_version(ctx: moderngl.Context, what: str) -> moderngl.Context:
    if ctx.version_code < GL_REQUIRE:
        got = ctx.version_code
        ctx.release()
        raise VjganError(f"{what}: OpenGL {got // 100}.{got % 100 // 10} found, 3.3 needed — "
                         "update the GPU driver (or use Mesa llvmpipe with --headless)")
    return ctx


def create_headless_context() -> moderngl.Context:
    """A standalone (no window) context on EGL: a GPU driver, or Mesa llvmpipe on CPU."""
    try:
        ctx = moderngl.create_standalone_context(require=GL_REQUIRE, backend="egl")
    except Exception as e:  # noqa: BLE001 - glcontext raises plain Exception
        raise VjganError(f"cannot create a headless OpenGL context (EGL): {e} — install libEGL "
                         "and a GL driver (Debian: libegl1 libgl1-mesa-dri)") from e
    return _check_version(ctx, "headless EGL context")


def attach_window_context() -> moderngl.Context:
    """Wrap the GL context that pygame made current for its OPENGL window."""
    from _moderngl import DefaultLoader  # shipped with moderngl; what create_context() uses

    try:
        ctx = moderngl.create_context(require=GL_REQUIRE, context=DefaultLoader())
    except Exception as e:  # noqa: BLE001
        raise VjganError(f"cannot use the window's OpenGL context: {e} — pass --headless to render "
                         "offscreen (EGL), or check the GL driver") from e
    return _check_version(ctx, "window OpenGL context")


def gl_description(ctx: moderngl.Context) -> str:
    """'renderer (GL version)' for logs."""
    info = ctx.info
    return f"{info.get('GL_RENDERER', '?')} (GL {info.get('GL_VERSION', '?')})"
