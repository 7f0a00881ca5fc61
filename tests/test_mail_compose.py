"""Composing the minutes emails: recipients, languages, parts, attachments,
escaping, redaction. Inputs are the committed sample meetings (samples/);
every message is parsed back with the standard library, as a client would."""

from __future__ import annotations

import copy
import email
import re
from datetime import datetime, timezone
from email import policy
from pathlib import Path

import pytest

from voicebot import schema
from voicebot.config import Settings
from voicebot.errors import UserError
from voicebot.i18n import LANGUAGES
from voicebot.mail import addresses, ics
from voicebot.mail.i18n import STRINGS, Words
from voicebot.mail.messages import compose_alert_drafts, compose_minutes
from voicebot.mail.redact import redact

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _minutes(lang: str) -> schema.Minutes:
    return schema.Minutes.from_dict(schema.read_json(SAMPLES / f"meeting-{lang}.expected.json"))


def _transcript(lang: str) -> schema.Transcript:
    return schema.Transcript.from_dict(schema.read_json(SAMPLES / f"meeting-{lang}.transcript.json"))


def _meeting(lang: str) -> schema.Meeting:
    if lang == "en":
        people = [("Alice", "alice@example.org"), ("Bob", "bob@example.org"), ("Carol", "carol@example.org"),
                  ("David", "david@example.org")]
        return schema.Meeting(id="20260312-083000-website-launch-1a2b", title="Website launch weekly meeting",
                              started_at="2026-03-12T09:30:00+01:00",
                              invitees=[schema.Person(n, e) for n, e in people])
    people = [("Camille", "camille@example.org"), ("Julien", "julien@example.org"),
              ("Sophie", "sophie@example.org"), ("Thomas", "thomas@example.org")]
    return schema.Meeting(id="20260311-100000-salon-de-lyon-3c4d", title="Préparation du salon de Lyon",
                          started_at="2026-03-11T10:00:00+01:00", language="fr",
                          invitees=[schema.Person(n, e) for n, e in people])


@pytest.fixture
def settings(tmp_path) -> Settings:
    s = Settings(home=tmp_path)
    s.mail.sender = "Voicebot <minutes@example.org>"
    return s


def _parse(draft) -> email.message.EmailMessage:
    if draft.smtputf8:  # RFC 6532: the headers are UTF-8 (the stdlib bytes parser would leave surrogates)
        return email.message_from_string(draft.raw.decode("utf-8"), policy=policy.default)
    return email.message_from_bytes(draft.raw, policy=policy.default)


def _subject(msg) -> str:
    # The stdlib folds a subject that only fits on a line of its own as "Subject:\r\n text" and
    # reads it back with the folding space; RFC 5322 unfolding (what clients do) drops it.
    return msg["Subject"].strip()


def _body(msg, subtype: str) -> str:
    return msg.get_body(preferencelist=(subtype,)).get_content()


def _attachments(msg) -> dict[str, str]:
    # text/* travels in canonical form (CRLF line ends); compare with \n
    return {part.get_filename(): part.get_content().replace("\r\n", "\n") for part in msg.iter_attachments()}


def _by_recipient(drafts) -> dict[str, object]:
    return {d.recipient: d for d in drafts}


# --- addresses ---------------------------------------------------------------------


def test_check_address_normalizes_and_flags_international_addresses():
    assert addresses.check_address(" Alice@Example.ORG ").address == "Alice@example.org"
    idn = addresses.check_address("jean@exemple-café.fr")
    assert idn.address == "jean@" + "exemple-café.fr".encode("idna").decode() and not idn.smtputf8  # ASCII local part: IDNA domain
    utf8 = addresses.check_address("zoé@exemple.fr")
    assert utf8.address == "zoé@exemple.fr" and utf8.smtputf8
    for bad in ("not an address", "a@b@c.org", "bob@", "carol@example.org\r\nBcc: x@evil.org", ""):
        with pytest.raises(addresses.AddressError):
            addresses.check_address(bad)


def test_header_text_removes_line_breaks_and_controls():
    assert addresses.header_text("Weekly\r\nBcc: evil@example.org\x00 ok") == "Weekly Bcc: evil@example.org ok"
    assert addresses.header_text("x\u2028y") == "x y"


def test_recipients_attendees_absentees_voice_and_problems():
    minutes = _minutes("en")
    meeting = _meeting("en")
    meeting.invitees += [schema.Person("Eve", "eve at example.org"), schema.Person("Frank"),
                         schema.Person("BOB", "bob@EXAMPLE.org")]  # Bob twice: one message
    speakers = {"labels": {"SPEAKER_00": {"name": "Grace", "email": "grace@example.org", "score": 0.8},
                           "SPEAKER_01": None},
                "present": ["Alice", "Bob", "Carol", "Grace"]}
    recipients, problems = addresses.resolve(meeting, minutes, speakers)
    kinds = {r.address.address: r.kind for r in recipients}
    assert kinds == {"alice@example.org": "attendee", "bob@example.org": "attendee",
                     "carol@example.org": "attendee", "grace@example.org": "attendee",
                     "david@example.org": "absentee"}
    assert [r.kind for r in recipients][-1] == "absentee"  # attendees first
    assert any("Eve" in p and "not valid" in p for p in problems)
    assert any("Frank" in p and "no email" in p for p in problems)


def test_short_and_long_forms_of_a_name_match_when_unambiguous():
    minutes = _minutes("en")
    minutes.present = ["Alice", "Bob Stone", "Jean"]
    meeting = _meeting("en")
    meeting.invitees = [schema.Person("Alice Martin", "alice@example.org"), schema.Person("Bob", "bob@example.org"),
                        schema.Person("", "jean.dupont@example.org"),  # named from the address: "jean dupont"
                        schema.Person("Carol Jones", "carol@example.org"), schema.Person("Carol Smith", "cs@example.org")]
    meeting.invitees.append(schema.Person("David", "david@example.org"))
    minutes.present.append("Carol")  # two Carols invited: which one was there is unknown
    recipients, problems = addresses.resolve(meeting, minutes, None)
    kinds = {r.address.address: r.kind for r in recipients}
    assert kinds == {"alice@example.org": "attendee", "bob@example.org": "attendee",
                     "jean.dupont@example.org": "attendee", "carol@example.org": "attendee",
                     "cs@example.org": "attendee", "david@example.org": "absentee"}
    assert problems == ["'Carol' who was present could be Carol Jones, Carol Smith: each gets the minutes as an attendee"]


def test_nobody_identified_means_everyone_gets_the_minutes():
    minutes = _minutes("en")
    minutes.present, minutes.absent = ["Speaker 1", "SPEAKER_01"], []  # voices, but no names
    speakers = {"labels": {"SPEAKER_00": None, "SPEAKER_01": None}, "present": [],
                "unnamed": {"SPEAKER_00": "Speaker 1", "SPEAKER_01": "Speaker 2"}}
    for hint in (None, speakers):
        recipients, problems = addresses.resolve(_meeting("en"), minutes, hint)
        assert {r.kind for r in recipients} == {"attendee"} and len(recipients) == 4
        assert any("nobody was identified" in p for p in problems)


def test_team_domains():
    assert addresses.domain_matches("example.org", [])
    assert addresses.domain_matches("lab.example.org", ["example.org"])
    assert not addresses.domain_matches("example.org.evil.com", ["example.org"])
    assert addresses.domain_matches("exemple-café.fr".encode("idna").decode(), ["exemple-café.fr"])


# --- messages ------------------------------------------------------------------------


def test_attendees_and_absentee_get_different_messages(settings):
    minutes = _minutes("en")
    minutes.action_items.append(schema.ActionItem("David", "Review the French user guide", "2026-03-20", 67.3, 72.2))
    drafts, problems = compose_minutes(minutes, _meeting("en"), settings, transcript=_transcript("en"),
                                       markdown="# Website launch weekly meeting\n")
    assert problems == []
    by = _by_recipient(drafts)
    assert sorted(by) == ["alice@example.org", "bob@example.org", "carol@example.org", "david@example.org"]

    bob = _parse(by["bob@example.org"])
    assert _subject(bob) == "Minutes: Website launch weekly meeting (12 March 2026)"
    assert bob["To"].addresses[0].addr_spec == "bob@example.org" and bob["To"].addresses[0].display_name == "Bob"
    assert bob["From"].addresses[0].addr_spec == "minutes@example.org"
    assert re.fullmatch(r"<[0-9a-f]{40}@example\.org>", bob["Message-ID"])
    assert bob["Content-Language"] == "en" and bob["Auto-Submitted"] == "auto-generated"
    assert bob.get_content_type() == "multipart/mixed"
    alternative = next(p for p in bob.iter_parts() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    text = _body(bob, "plain")
    assert "Here are the minutes of “Website launch weekly meeting”" in text
    assert "Thursday 12 March 2026 at 09:30" in text
    assert "Move the launch to the seventh of April. [at 0:25]" in text
    assert text.index("YOUR ACTION ITEMS") < text.index("Send the signed contract") < text.index("OTHER ACTION ITEMS")
    assert "due Tuesday 17 March 2026" in text
    assert "Next meeting: Thursday 19 March 2026 at 10:00" in text
    html = _body(bob, "html")
    assert "<strong>Send the signed contract to Blue Cloud</strong>" in html and 'lang="en"' in html
    assert "style=" in html and "<style" not in html  # inline CSS only
    files = _attachments(bob)
    assert set(files) == {"minutes-2026-03-12.md", "action-items-2026-03-12.ics"}
    assert files["minutes-2026-03-12.md"] == "# Website launch weekly meeting\n"
    assert "Send the signed contract to Blue Cloud" in files["action-items-2026-03-12.ics"]
    assert "Update the test plan" not in files["action-items-2026-03-12.ics"]  # Carol's, not Bob's

    david = _parse(by["david@example.org"])
    assert _subject(david) == "You missed Website launch weekly meeting (12 March 2026)"
    assert david["X-Voicebot-Kind"] == "absentee"
    text = _body(david, "plain")
    assert "were not there" in text
    # his own action item first, then the decisions, then the others
    assert text.index("Review the French user guide") < text.index("DECISIONS") < text.index("Update the test plan")
    assert "Choose Blue Cloud for the hosting." in text
    assert "voicebot search" in text and "--meeting 20260312-083000-website-launch-1a2b" in text
    assert "http://127.0.0.1:8000/meetings/20260312-083000-website-launch-1a2b" in text
    assert "You missed" not in _body(bob, "plain") and "Here are the minutes" not in text


def test_message_ids_are_deterministic_per_meeting_recipient_version(settings):
    minutes, meeting = _minutes("en"), _meeting("en")
    first = {d.recipient: d.message_id for d in compose_minutes(minutes, meeting, settings)[0]}
    again = {d.recipient: d.message_id for d in compose_minutes(minutes, meeting, settings)[0]}
    v2 = {d.recipient: d.message_id for d in compose_minutes(minutes, meeting, settings, version=2)[0]}
    assert first == again
    assert len(set(first.values())) == 4
    assert not set(first.values()) & set(v2.values())


def test_french_meeting_is_mailed_in_french(settings):
    drafts, _ = compose_minutes(_minutes("fr"), _meeting("fr"), settings, markdown="# CR\n")
    by = _by_recipient(drafts)
    julien = _parse(by["julien@example.org"])
    assert _subject(julien) == "Compte rendu : Préparation du salon de Lyon (11 mars 2026)"
    assert julien["Content-Language"] == "fr"
    text = _body(julien, "plain")
    assert "Bonjour Julien," in text and "mercredi 11 mars 2026 à 10:00" in text
    assert "VOS ACTIONS" in text and "DÉCISIONS" in text and "Prochaine réunion : mercredi 18 mars 2026 à 10:00" in text
    assert "compte-rendu-2026-03-11.md" in _attachments(julien)
    thomas = _parse(by["thomas@example.org"])
    assert _subject(thomas) == "Vous avez manqué Préparation du salon de Lyon (11 mars 2026)"
    assert "n'étiez pas là" in _body(thomas, "plain") and "Aucune action ne vous a été confiée." in _body(thomas, "plain")
    assert 'lang="fr"' in _body(thomas, "html")


def test_hostile_title_names_and_transcript_cannot_inject(settings):
    settings.mail.attach_transcript = True
    minutes, meeting, transcript = _minutes("en"), _meeting("en"), _transcript("en")
    hostile = 'Launch <script>alert("x")</script>\r\nBcc: spy@evil.example\r\n\r\n<img src=x onerror=alert(1)>'
    minutes.title = meeting.title = hostile
    meeting.invitees[0].name = "Alice\r\nBcc: spy@evil.example"
    minutes.summary = "</p><script>steal()</script> & <b>bold</b>"
    minutes.decisions[0].text = '"><a href="javascript:alert(1)">click</a>'
    transcript.segments[0].text = "<script>document.cookie</script>\r\nX-Evil: 1"
    drafts, _ = compose_minutes(minutes, meeting, settings, transcript=transcript)
    for draft in drafts:
        msg = _parse(draft)
        assert msg.get_all("Bcc") is None and msg.get_all("X-Evil") is None
        assert len(msg.get_all("To")) == 1 and len(msg["To"].addresses) == 1
        assert len(msg.get_all("Subject")) == 1 and "\n" not in msg["Subject"]
        assert "<script>" in msg["Subject"]  # headers are text, shown as typed
        html = _body(msg, "html")
        assert "<script" not in html and "<img" not in html and '<a href="javascript' not in html
        assert "&lt;script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "&amp;" in html
        text = _body(msg, "plain")
        assert "<script>steal()</script>" in text  # plain text keeps what was said, literally
        vtt = _attachments(msg)["transcript-2026-03-12.vtt"]
        assert vtt.startswith("WEBVTT") and "<script>document.cookie</script>" in vtt
    alice = _parse(_by_recipient(drafts)["alice@example.org"])
    assert alice["To"].addresses[0].display_name == "Alice Bcc: spy@evil.example"


def test_transcript_only_inside_team_domains(settings):
    settings.mail.attach_transcript = True
    settings.mail.team_domains = ["example.org"]
    meeting = _meeting("en")
    meeting.invitees[3].email = "david@partner.example.com"
    drafts, _ = compose_minutes(_minutes("en"), meeting, settings, transcript=_transcript("en"), markdown="# M\n")
    by = _by_recipient(drafts)
    inside = _attachments(_parse(by["bob@example.org"]))
    assert {"transcript-2026-03-12.txt", "transcript-2026-03-12.vtt", "minutes-2026-03-12.md"} <= set(inside)
    assert "[0:00] Alice: Good morning everyone." in inside["transcript-2026-03-12.txt"]
    outside = _attachments(_parse(by["david@partner.example.com"]))
    assert not any(name.startswith("transcript") for name in outside)
    assert "minutes-2026-03-12.md" in outside
    settings.mail.attach_transcript = False
    drafts, _ = compose_minutes(_minutes("en"), meeting, settings, transcript=_transcript("en"))
    assert not any(n.startswith("transcript") for n in _attachments(_parse(_by_recipient(drafts)["bob@example.org"])))


def test_redaction_reaches_every_part(settings):
    settings.mail.redact = True
    settings.mail.attach_transcript = True
    secrets = ["bob.private@gmail.example", "06 12 34 56 78", "+33 6 12 34 56 78", "FR76 3000 6000 0112 3456 7890 189"]
    minutes, transcript = _minutes("en"), _transcript("en")
    minutes.summary = f"Write to {secrets[0]} or call {secrets[1]}."
    minutes.action_items[1].task = f"Pay the invoice to {secrets[3]}"
    transcript.segments[2].text = f"My number is {secrets[2]}, account {secrets[3]}."
    markdown = f"# Minutes\nCall {secrets[1]}, mail {secrets[0]}\n"
    drafts, _ = compose_minutes(minutes, _meeting("en"), settings, transcript=transcript, markdown=markdown)
    for draft in drafts:
        msg = _parse(draft)
        everything = _body(msg, "plain") + _body(msg, "html") + "".join(_attachments(msg).values())
        for secret in secrets:
            assert secret not in everything and secret.replace(" ", "") not in everything
        assert "[email]" in everything and "[phone]" in everything and "[IBAN]" in everything
        assert msg["To"].addresses[0].addr_spec == draft.recipient  # addresses themselves are not redacted
        assert "Email addresses, phone numbers and account numbers were removed" in _body(msg, "plain")


def test_redact_patterns():
    assert redact("mail jean.dupont@exemple.fr now") == "mail [email] now"
    assert redact("appelez le 06.12.34.56.78 ou le (555) 123-4567") == "appelez le [phone] ou le [phone]"
    assert redact("IBAN DE89370400440532013000, merci") == "IBAN [IBAN], merci"
    assert redact("IBAN GB29 NWBK 6016 1331 9268 19 please") == "IBAN [IBAN] please"
    kept = "le 2026-03-12 à 10:30, le 12/03/2026, 1500 euros, version 3.11.7, salle 204"
    assert redact(kept) == kept


def test_international_recipient_needs_smtputf8(settings):
    meeting = _meeting("en")
    meeting.invitees[3] = schema.Person("Zoé Ünïcode", "zoé@exemple.fr")
    drafts, problems = compose_minutes(_minutes("en"), meeting, settings)
    assert problems == []
    # David (absent) was replaced by Zoé, who is not in the present list: an absentee
    zoe = _by_recipient(drafts)["zoé@exemple.fr"]
    assert zoe.smtputf8 and zoe.kind == "absentee"
    assert "zoé@exemple.fr".encode() in zoe.raw
    msg = _parse(zoe)
    assert msg["To"].addresses[0].display_name == "Zoé Ünïcode"
    assert not _by_recipient(drafts)["bob@example.org"].smtputf8
    assert _by_recipient(drafts)["bob@example.org"].raw.isascii()


def test_invalid_sender_is_a_user_error(settings):
    settings.mail.sender = "not an address"
    with pytest.raises(UserError, match="mail.sender"):
        compose_minutes(_minutes("en"), _meeting("en"), settings)


def test_default_sender_localhost_is_accepted(tmp_path):
    drafts, _ = compose_minutes(_minutes("en"), _meeting("en"), Settings(home=tmp_path))
    assert _parse(drafts[0])["From"].addresses[0].addr_spec == "voicebot@localhost"


def test_ics_todos_escaped_and_folded(settings):
    minutes = _minutes("en")
    bob_item = copy.deepcopy(minutes.action_items[1])
    bob_item.task = "Send the contract; sign it, then scan it\nand mail it " + "very " * 20 + "carefully — éàü"
    text = ics.calendar(_meeting("en"), minutes, [bob_item], domain="example.org",
                        stamp=datetime(2026, 3, 12, 8, 30, tzinfo=timezone.utc),
                        title="Weekly, launch")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    assert "DUE;VALUE=DATE:20260317" in unfolded
    assert "SUMMARY:Send the contract\\; sign it\\, then scan it\\nand mail it very" in unfolded
    assert "carefully — éàü" in unfolded
    assert "DTSTART:20260319T100000" in unfolded  # the next meeting, floating local time
    assert "DTSTAMP:20260312T083000Z" in unfolded
    assert ics.calendar(_meeting("en"), schema.Minutes("t", "2026-03-12", 1, "en"), [minutes.action_items[0]],
                        domain="x.org", stamp=datetime.now(), title="t").count("BEGIN:VTODO") == 1
    undated = copy.deepcopy(bob_item)
    undated.due = None
    assert ics.calendar(_meeting("en"), schema.Minutes("t", "2026-03-12", 1, "en"), [undated], domain="x.org",
                        stamp=datetime.now(), title="t") is None


def test_alert_for_admin(settings):
    assert compose_alert_drafts(settings, meeting_id="m1", stage="transcribe", error="boom") == []
    settings.mail.admin = "Ops <ops@example.org>"
    [draft] = compose_alert_drafts(settings, meeting_id="20260312-083000-website-launch-1a2b", stage="transcribe",
                                   error="model file missing\r\nBcc: x@evil.example")
    msg = _parse(draft)
    assert draft.kind == "admin" and draft.recipient == "ops@example.org"
    assert _subject(msg) == "voicebot: transcribe failed for meeting 20260312-083000-website-launch-1a2b"
    assert msg.get_all("Bcc") is None
    assert "model file missing" in _body(msg, "plain") and "voicebot status" in _body(msg, "plain")
    [same] = compose_alert_drafts(settings, meeting_id="20260312-083000-website-launch-1a2b", stage="transcribe",
                                  error="model file missing\r\nBcc: x@evil.example")
    assert same.message_id == draft.message_id  # the same incident twice is one message
    settings.mail.admin = "ops at example"
    with pytest.raises(UserError, match="mail.admin"):
        compose_alert_drafts(settings, meeting_id="m1", stage="transcribe", error="boom")


def test_languages_have_the_same_sentences():
    assert set(STRINGS["fr"]) == set(STRINGS["en"])
    assert set(STRINGS) == set(LANGUAGES)  # a language with sentences also has its dates written out
    assert Words("fr").date("2026-03-01") == "dimanche 1er mars 2026"
    assert Words("en").date("2026-03-01T09:05:00+01:00") == "Sunday 1 March 2026 at 09:05"
    assert Words("de").language == "en"
    assert Words("fr").duration(3900) == "1 h 05" and Words("en").duration(1834) == "31 min"
