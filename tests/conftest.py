"""Test-wide environment: no display and no sound card needed (set before pygame/SDL loads)."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
