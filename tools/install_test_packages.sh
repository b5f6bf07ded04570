#!/bin/sh
# Debian packages the server tests drive: chromium (the playground page, tests/server/test_server_playground.py,
# through playwright) and curl (the README's curl examples, tests/server/test_server_readme.py). Installed with
# apt-get, never downloaded by playwright. Does nothing when both are there; says what to do where apt-get is not
# usable.
set -e
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$sudo" = "none" ]; then
    echo "tools/install_test_packages.sh: install$missing (Debian: apt-get install$missing) for the server tests" >&2
    exit 0
fi
echo "tools/install_test_packages.sh: apt-get install$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
