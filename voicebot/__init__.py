"""voicebot: a local meeting bot. Records, transcribes, tells who spoke,
drafts the minutes, emails them, and archives every transcript for search."""

__version__ = "0.1.0"
