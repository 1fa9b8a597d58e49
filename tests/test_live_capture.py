"""The live show on real line-in (a JACK dummy server): pulling the interface never stops the
picture, the log says so, and the show hears the input again once it is back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from jack_util import JackServer, jackd_available
from test_cli import probe

pytestmark = pytest.mark.skipif(not jackd_available(), reason="jackd (Debian jackd2) is not installed")
METRO = ("jack_metro", "-n", "vjgan-metro", "-b", "240", "-D", "40", "-f", "1000", "-A", "0.5")


def test_live_show_survives_the_interface_being_pulled(tmp_path):
    out = tmp_path / "show.mp4"
    with JackServer() as jack:
        env = dict(os.environ, **jack.env)
        show = subprocess.Popen(
            [sys.executable, "-m", "vjgan", "live", "--audio-device", "system", "--headless",
             "--duration", "8", "--size", "64", "--fps", "20", "--record", str(out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not any(p.startswith("vjgan-in:") for p in jack.ports()):
                assert show.poll() is None and time.monotonic() < deadline, show.communicate()
                time.sleep(0.1)  # wait until the show's capture process is listening
            time.sleep(1.0)
            jack.kill()  # the interface is pulled out mid-show
            time.sleep(1.0)
            jack.start()  # and plugged back in
            jack.client(*METRO)
            stdout, stderr = show.communicate(timeout=60)
        finally:
            if show.poll() is None:
                show.kill()
    assert show.returncode == 0, stderr
    assert "audio lost" in stderr and "audio back" in stderr, stderr
    assert stderr.index("audio lost") < stderr.index("audio back")
    info = probe(out)
    # The picture never waited for audio: frames cover the whole show, the outage included.
    assert len(info["frames"]) >= 20
    assert info["audio_s"] > 4.0  # silence stood in for the missing input, keeping sync
