"""A private PulseAudio sound server for tests that capture real audio.

It has one null sink ("meeting", 16 kHz mono 16-bit by default) whose
monitor is the default input: whatever ``play()`` plays into the sink,
a program recording from the default device (sounddevice -> PortAudio ->
ALSA -> the pulse plugin) captures, sample for sample when the formats match
(no resampling, volume at 100 %). Each server has its own runtime folder and
socket, so tests (and other programs) running at the same time do not meet.

A stream of digital silence plays all the time (``pacat`` from /dev/zero),
so the input delivers audio continuously as a real microphone does (an idle
null sink delivers nothing to its monitor). Mixing silence in changes no
sample. When a new player starts, the server may skip the first few
milliseconds of it in the monitor (it rewinds the sink, which a monitor
cannot follow): compare recordings with ``record_helpers.follow``.

    server = PulseServer(tmp_path / "pulse")
    server.start()
    subprocess.run([...], env={**os.environ, **server.env})
    server.play(path).wait()
    server.stop()

Works as root (pulseaudio warns, then runs) and as a normal user. Needs the
Debian packages pulseaudio, pulseaudio-utils, libasound2-plugins
(scripts/install-system.sh).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SINK = "meeting"


class PulseServer:
    def __init__(self, root: Path, *, samplerate: int = 16000, channels: int = 1):
        self.root = Path(root)
        self.samplerate = samplerate
        self.channels = channels
        self.runtime = self.root / "run"
        self.socket = self.runtime / "native"
        self.log = self.root / "pulseaudio.log"
        self.pid: int | None = None
        self._players: list[subprocess.Popen] = []
        self._silence: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """Variables that point a client (paplay, pactl, PortAudio's ALSA pulse plugin) at this server."""
        return {"XDG_RUNTIME_DIR": str(self.runtime), "XDG_CONFIG_HOME": str(self.root / "config"),
                "PULSE_SERVER": f"unix:{self.socket}"}

    def _run(self, *args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env={**os.environ, **self.env}, capture_output=True, text=True,
                              check=check, timeout=timeout)

    def start(self) -> PulseServer:
        for tool in ("pulseaudio", "pactl", "paplay"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is missing: install pulseaudio and pulseaudio-utils "
                                   "(scripts/install-system.sh)")
        self.runtime.mkdir(parents=True, exist_ok=True)
        self.runtime.chmod(0o700)
        (self.root / "config").mkdir(exist_ok=True)
        self.socket.unlink(missing_ok=True)
        sink = (f"module-null-sink sink_name={SINK} rate={self.samplerate} channels={self.channels} "
                f"format=s16le sink_properties=device.description=Meeting")
        self._run("pulseaudio", "--daemonize=yes", "--system=false", "--exit-idle-time=-1", "-n",
                  "--use-pid-file=yes", f"--log-target=file:{self.log}",
                  f"--load={sink}", f"--load=module-native-protocol-unix auth-anonymous=1 socket={self.socket}")
        deadline = time.monotonic() + 15
        while self._run("pactl", "info", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PulseAudio did not start; see {self.log}")
            time.sleep(0.1)
        self.pid = int((self.runtime / "pulse" / "pid").read_text().split()[0])
        self._run("pactl", "set-default-sink", SINK)
        self._run("pactl", "set-default-source", f"{SINK}.monitor")
        with open("/dev/zero", "rb") as zero:
            self._silence = subprocess.Popen(
                ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={self.samplerate}",
                 f"--channels={self.channels}", "--latency-msec=100", "--client-name=silence"],
                stdin=zero, env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def play(self, path: Path, *, latency_msec: int = 250) -> subprocess.Popen:
        """Start playing ``path`` into the sink (the caller waits on, or kills, the process).

        A busy machine can make the player late: the server then plays a few
        milliseconds of silence and goes on (``record_helpers.follow`` allows for it)."""
        player = subprocess.Popen(["paplay", f"--latency-msec={latency_msec}", str(path)],
                                  env={**os.environ, **self.env}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self._players.append(player)
        return player

    def _stop_silence(self) -> None:
        if self._silence is not None:
            self._silence.kill()
            self._silence.wait()
            self._silence = None

    def kill(self) -> None:
        """Kill the server at once (as a crashing sound server or a yanked USB device does)."""
        self._stop_silence()
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._wait_gone(self.pid)
            self.pid = None

    def stop(self) -> None:
        self._stop_silence()
        for player in self._players:
            if player.poll() is None:
                player.kill()
                player.wait()
        self._players.clear()
        if self.pid is None:
            return
        pid = self.pid
        self._run("pactl", "exit", check=False)
        if not self._wait_gone(pid, 5):
            self.kill()
        self.pid = None

    @staticmethod
    def _wait_gone(pid: int, timeout: float = 5) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            try:  # our daemon may be a zombie child of ours: reap it
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return True
            except ChildProcessError:
                # not our child: a zombie that only its parent can reap counts as gone once it is a zombie
                if _is_zombie(pid):
                    return True
            time.sleep(0.05)
        return False


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
