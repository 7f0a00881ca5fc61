"""Who spoke, by name, and who was there: from enrolled voices and from what was said.

    from voicebot.naming import identify
    naming = identify(transcript, meeting.invitees, voices)   # speakers.json

``transcript`` carries the diarization labels (SPEAKER_00...) on its segments;
``voices`` is what the voiceprints matched (voicebot.diarize.naming.name_speakers),
or None. Evidence rules: :mod:`voicebot.naming.evidence`; names and their forms:
:mod:`voicebot.naming.names`; the assignment and presence: :mod:`voicebot.naming.assign`.
"""

from voicebot.naming.assign import CONFIDENCE, identify

__all__ = ["CONFIDENCE", "identify"]
