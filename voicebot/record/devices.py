"""Input devices, through sounddevice (PortAudio): list them, pick one by
number or by name, and find a format it accepts."""

from __future__ import annotations

from dataclasses import dataclass

from voicebot.errors import UserError


def sounddevice():
    """The sounddevice module, or a UserError saying how to install PortAudio."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        raise UserError(f"cannot load PortAudio ({exc}); install it: apt-get install libportaudio2 "
                        "(scripts/install-system.sh does it)") from None
    return sd


@dataclass
class InputDevice:
    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hostapi})" if self.hostapi else self.name


def list_input_devices() -> list[InputDevice]:
    sd = sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise UserError(f"cannot list audio devices: {exc}") from None
    default = _default_input(sd)
    return [
        InputDevice(index=d["index"], name=d["name"], hostapi=hostapis[d["hostapi"]]["name"],
                    channels=d["max_input_channels"], default_samplerate=d["default_samplerate"],
                    is_default=d["index"] == default)
        for d in devices if d["max_input_channels"] > 0
    ]


def _default_input(sd) -> int:
    try:
        index = sd.default.device[0]
        if index is None or index < 0:
            index = sd.query_devices(kind="input")["index"]
        return int(index)
    except (sd.PortAudioError, ValueError, TypeError, KeyError):
        return -1


def resolve(spec: str | int | None) -> InputDevice:
    """The device for ``--device`` (a number, or part of a name; empty = the system default input)."""
    try:
        return _resolve(spec, list_input_devices())
    except UserError:
        # PortAudio lists devices once, when it starts: a long-running program (or a microphone
        # plugged in since) needs a fresh look before we say it is not there
        refresh()
        return _resolve(spec, list_input_devices())


def _resolve(spec: str | int | None, devices: list[InputDevice]) -> InputDevice:
    hint = "`voicebot devices` lists the input devices"
    if not devices:
        raise UserError("no audio input device found (is a microphone connected and allowed?); " + hint)
    spec = "" if spec is None else str(spec).strip()
    if spec == "":
        chosen = [d for d in devices if d.is_default]
        if not chosen:
            raise UserError("there is no default audio input device; choose one with --device; " + hint)
        return chosen[0]
    if spec.isdigit():
        chosen = [d for d in devices if d.index == int(spec)]
        if not chosen:
            raise UserError(f"device {spec} is not an input device; {hint}")
        return chosen[0]
    exact = [d for d in devices if d.name.casefold() == spec.casefold()]
    if exact:
        return exact[0]
    chosen = [d for d in devices if spec.casefold() in d.name.casefold()]
    if not chosen:
        raise UserError(f"no input device matches {spec!r}; {hint}")
    if len(chosen) > 1:
        names = "; ".join(f"{d.index}: {d.name}" for d in chosen)
        raise UserError(f"{spec!r} matches several input devices ({names}); give its number with --device")
    return chosen[0]


def find_by_name(name: str) -> InputDevice | None:
    """The input device called exactly ``name`` now (device numbers change when devices come and go)."""
    return next((d for d in list_input_devices() if d.name == name), None)


def pick_format(device: InputDevice, samplerate: int, channels: int) -> tuple[int, int]:
    """The (rate, channels) to capture with: the wanted ones when the device takes them, else its own.

    The recording is converted to 16 kHz mono when it is assembled, so any format works."""
    sd = sounddevice()
    rates = [samplerate] + [r for r in (int(device.default_samplerate), 48000, 44100) if r != samplerate]
    channel_options = [channels] + [c for c in (1, 2, device.channels) if c != channels and c <= device.channels]
    errors = []
    for ch in channel_options:
        for rate in rates:
            try:
                sd.check_input_settings(device=device.index, samplerate=rate, channels=ch, dtype="int16")
                return rate, ch
            except (sd.PortAudioError, ValueError) as exc:
                errors.append(str(exc))
    raise UserError(f"input device {device.label} accepts none of the usual formats (16-bit, "
                    f"{', '.join(map(str, rates))} Hz): {errors[-1] if errors else 'unknown error'}")


def refresh() -> None:
    """Make PortAudio look at the devices again (after one was unplugged or came back).

    No stream may be open. sounddevice documents these two calls for this purpose."""
    sd = sounddevice()
    sd._terminate()
    sd._initialize()
