"""The invite list: --invite values and .ics invitations (as calendar programs write them)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from voicebot import invites
from voicebot.errors import UserError
from voicebot.schema import Person


def test_addresses_in_every_usual_form():
    people = invites.parse_addresses('a@x.org, Bob Martin <bob@y.org>; "Dupont, Jean" <JD@Example.ORG>, Alice')
    assert people == [
        Person("A", "a@x.org"),
        Person("Bob Martin", "bob@y.org"),
        Person("Dupont, Jean", "JD@example.org"),  # the domain is normalized, the local part kept
        Person("Alice", None),
    ]


def test_a_name_is_made_from_the_address_when_none_is_given():
    assert invites.parse_addresses("jean-luc.dupont@x.org")[0].name == "Jean-Luc Dupont"
    assert invites.parse_addresses("<marie_curie+meetings@lab.fr>")[0].name == "Marie Curie"


@pytest.mark.parametrize("bad", ["bob@", "Bob <not-an-address>", "x@@y.org", "<>"])
def test_a_bad_address_is_refused_with_what_to_write(bad):
    with pytest.raises(UserError) as err:
        invites.parse_addresses(bad)
    assert "name@example.org" in str(err.value)


def test_people_are_merged_by_address_then_by_name():
    merged = invites.merge_people(
        [Person("Bobby", "bob@y.org"), Person("Alice")],
        [Person("Robert Martin", "BOB@y.org", role="organizer"), Person("alice", "alice@x.org")],
    )  # the first name seen is kept, the strongest role wins, a bare name gets its address
    assert merged == [Person("Bobby", "bob@y.org", role="organizer"), Person("Alice", "alice@x.org")]
    # a name made from the address gives way to a real one
    assert invites.merge_people([Person("Bob", "bob@y.org")], [Person("Bob Martin", "bob@y.org")])[0].name == "Bob Martin"


def test_find_person_by_email_then_by_name():
    team = [Person("Alice Martin", "Alice@Example.org"), Person("Bob"), Person("Zoé N’Diaye", None)]
    assert invites.find_person("Someone Else", "alice@example.org", team) is team[0]  # the address decides
    assert invites.find_person("Alice", None, team) is team[0]  # a first name alone: the short form
    assert invites.find_person("Bob Stone", None, team) is team[1]  # "Bob" invited: the long form
    assert invites.find_person("zoe n'diaye", "zoe@x.org", team) is team[2]  # case, accents, apostrophes
    assert invites.find_person("Alice Dupont", None, team) is None  # another Alice
    assert invites.find_person("", None, team) is None and invites.find_person("Bob", None, []) is None
    assert not invites.same_name("Bob", "Bob Martin", short_forms=False)


ICS = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//Example//Outlook-like//EN\r\n"
    "METHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:42@example.org\r\n"
    "SUMMARY:Point hebdo \\, équipe produit\r\n"
    "DTSTART;TZID=Europe/Paris:20261124T093000\r\n"
    "DTEND;TZID=Europe/Paris:20261124T103000\r\n"
    "ORGANIZER;CN=\"Martin, Bob\":mailto:bob@example.org\r\n"
    "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Chlo\r\n"
    " é Durand:mailto:chloe@example.org\r\n"
    "ATTENDEE;ROLE=OPT-PARTICIPANT;CN=Dmitri:MAILTO:dmitri@example.org\r\n"
    "ATTENDEE;CN=Bob Martin;ROLE=REQ-PARTICIPANT:mailto:bob@example.org\r\n"
    "ATTENDEE;CUTYPE=ROOM;CN=Salle Turing:mailto:turing@rooms.example.org\r\n"
    "ATTENDEE;RSVP=TRUE:mailto:eve.adams@example.org\r\n"
    "BEGIN:VALARM\r\n"
    "ACTION:EMAIL\r\n"
    "ATTENDEE:mailto:alarm@example.org\r\n"
    "END:VALARM\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_ics_gives_title_date_and_people(tmp_path):
    path = tmp_path / "invite.ics"
    path.write_text(ICS, encoding="utf-8", newline="")
    inv = invites.read_ics(path)
    assert inv.title == "Point hebdo , équipe produit"
    assert inv.start == datetime(2026, 11, 24, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert inv.date == "2026-11-24" and not inv.recurring
    assert inv.people == [
        Person("Martin, Bob", "bob@example.org", "organizer"),  # also an attendee: one entry, organizer
        Person("Chloé Durand", "chloe@example.org", "attendee"),  # folded line joined
        Person("Dmitri", "dmitri@example.org", "optional"),
        Person("Eve Adams", "eve.adams@example.org", "attendee"),
    ]  # the room and the alarm's recipient are not guests


def test_ics_dates_in_utc_all_day_and_floating():
    def start_of(line: str):
        return invites.parse_ics(f"BEGIN:VCALENDAR\nBEGIN:VEVENT\n{line}\nEND:VEVENT\nEND:VCALENDAR\n").start

    assert start_of("DTSTART:20261124T083000Z") == datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc)
    assert start_of("DTSTART;VALUE=DATE:20261124") == date(2026, 11, 24)
    assert start_of("DTSTART:20261124T093000") == datetime(2026, 11, 24, 9, 30)  # floating: local time
    vendor = start_of("DTSTART;TZID=/mozilla.org/20050126_1/Europe/Paris:20261124T093000")
    assert vendor.utcoffset().total_seconds() == 3600
    windows = start_of('DTSTART;TZID="Romance Standard Time":20261124T093000')  # Outlook's name for Paris
    assert windows.utcoffset().total_seconds() == 3600  # was kept as local time before icalendar read it


def test_ics_with_an_unknown_time_zone_says_what_to_do(tmp_path):
    path = tmp_path / "invite.ics"
    path.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Sync\nDTSTART;TZID=Olympus Mons Time:20261124T093000\n"
                    "END:VEVENT\nEND:VCALENDAR\n", encoding="utf-8")
    with pytest.raises(UserError) as err:  # not silently taken as this machine's local time
        invites.read_ics(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "'Olympus Mons Time'" in message
    assert "VTIMEZONE" in message and "Europe/Paris" in message


def test_ics_time_zone_defined_in_the_file():
    def start_of(day: str):
        return invites.parse_ics(
            "BEGIN:VCALENDAR\n"
            "BEGIN:VTIMEZONE\nTZID:Paris (custom)\n"
            "BEGIN:STANDARD\nDTSTART:19701025T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\n"
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nEND:STANDARD\n"
            "BEGIN:DAYLIGHT\nDTSTART:19700329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\n"
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nEND:DAYLIGHT\n"
            "END:VTIMEZONE\n"
            f'BEGIN:VEVENT\nDTSTART;TZID="Paris (custom)":{day}T093000\nEND:VEVENT\n'
            "END:VCALENDAR\n").start

    winter, summer = start_of("20261124"), start_of("20260624")
    assert winter == datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc)
    assert summer == datetime(2026, 6, 24, 7, 30, tzinfo=timezone.utc)


def test_ics_that_is_not_valid_icalendar_says_so():
    with pytest.raises(UserError, match="not valid iCalendar"):
        invites.parse_ics("BEGIN:VCALENDAR\nthis is no content line\nBEGIN:VEVENT\nEND:VEVENT\nEND:VCALENDAR\n")


def test_ics_with_several_events_uses_the_nearest_one():
    text = ("BEGIN:VCALENDAR\n"
            "BEGIN:VEVENT\nSUMMARY:Weekly\nDTSTART:20260105T090000Z\nRRULE:FREQ=WEEKLY\nEND:VEVENT\n"
            "BEGIN:VEVENT\nSUMMARY:Weekly (moved)\nRECURRENCE-ID:20261123T090000Z\n"
            "DTSTART:20261124T140000Z\nEND:VEVENT\n"
            "END:VCALENDAR\n")
    near = datetime(2026, 11, 24, 13, 55, tzinfo=timezone.utc)
    assert invites.parse_ics(text, near=near).title == "Weekly (moved)"
    series = invites.parse_ics(text, near=datetime(2026, 1, 5, 9, tzinfo=timezone.utc))
    assert series.title == "Weekly" and series.recurring


def test_bad_ics_files_say_what_is_wrong(tmp_path):
    missing = tmp_path / "nope.ics"
    with pytest.raises(UserError, match="no such"):
        invites.read_ics(missing)
    not_ics = tmp_path / "notes.ics"
    not_ics.write_text("hello", encoding="utf-8")
    with pytest.raises(UserError, match="not an iCalendar file"):
        invites.read_ics(not_ics)
    no_event = tmp_path / "empty.ics"
    no_event.write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n", encoding="utf-8")
    with pytest.raises(UserError, match="no calendar event"):
        invites.read_ics(no_event)
    latin1 = tmp_path / "latin1.ics"  # an old exporter that wrote Windows-1252
    latin1.write_bytes(ICS.replace("UID", "X-UID").encode("cp1252"))
    assert invites.read_ics(latin1).people[1].name == "Chloé Durand"


def test_collect_merges_ics_and_command_line(tmp_path):
    path = tmp_path / "invite.ics"
    path.write_text(ICS, encoding="utf-8")
    inv = invites.collect(["Zoé <zoe@example.org>", "chloe@example.org"], path)
    assert [p.name for p in inv.people][-1] == "Zoé"
    assert sum(1 for p in inv.people if p.email == "chloe@example.org") == 1
    assert invites.collect(["x@y.org"]).title is None
