"""The recorder: capture a meeting from the microphone without ever losing it.

``record()`` writes ``recordings/<id>/`` (meeting.json at once, audio in
short fsynced pieces under chunks/, audio.flac at a clean stop);
``recover()`` repairs recordings that never finished; ``find_unfinished()``
lists them; ``request_stop()`` asks a running recorder to stop.
See ``capture`` for the crash-safety design and its loss bound.
"""

from voicebot.record.capture import CONSENT_NOTICE, DiskFullError, RecordStatus, record
from voicebot.record.control import live_recordings, request_stop
from voicebot.record.devices import InputDevice, list_input_devices
from voicebot.record.recover import Recovery, find_unfinished, recover

__all__ = ["CONSENT_NOTICE", "DiskFullError", "InputDevice", "RecordStatus", "Recovery", "find_unfinished",
           "list_input_devices", "live_recordings", "record", "recover", "request_stop"]
