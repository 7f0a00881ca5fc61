#!/bin/sh
# Debian/Ubuntu packages voicebot and its tests use. Installs only what is
# missing; needs root (or sudo) the first time.
set -eu
PACKAGES="ffmpeg sox libsox-fmt-all espeak-ng libsndfile1 libportaudio2 libasound2-plugins \
pulseaudio pulseaudio-utils postgresql redis-server chromium fonts-dejavu-core fonts-liberation python3-venv make"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
