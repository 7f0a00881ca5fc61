"""The browser side: a dashboard, meeting pages with synced audio, search, and a JSON API.

``voicebot serve`` runs ``voicebot.web.app.create_app(settings)`` under uvicorn,
bound to 127.0.0.1 by default. Everything but the login page needs a login
(``voicebot users add NAME``, or the shared password ``web.password``): see
``voicebot.web.auth`` for passwords (argon2), sessions (server-side, their secret
in a signed cookie), CSRF tokens, API tokens and login throttling,
``voicebot.web.guard`` for the middleware that refuses every request without a
valid login, and ``voicebot.archive.access`` for what each user may see (routes
get the archive only through its ``MeetingView``).

This package's ``__init__`` imports nothing heavy, so the CLI can use
``voicebot.web.auth`` (``voicebot users ...``) without loading FastAPI.
"""
