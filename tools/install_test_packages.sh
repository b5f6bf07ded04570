#!/bin/sh
# Debian packages the server tests drive: chromium (the playground page, tests/server/test_server_playground.py,
# through playwright) and curl (the README's curl examples, tests/server/test_server_readme.py). Installed with
# apt-get from the distribution's archive (package lists refreshed first: a fresh container has none), never
# downloaded by playwright. Does nothing when both are there; where apt-get cannot be used (no root, no sudo, not
# Debian) it says what to install and leaves it to the tests, which fail under MINTFORMERS_REQUIRE_REAL_WEIGHTS=1
# (`make test`) rather than skip.
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
echo "tools/install_test_packages.sh: apt-get update && apt-get install$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
if [ ! -x /usr/bin/chromium ] || ! command -v curl >/dev/null 2>&1; then
    echo "tools/install_test_packages.sh: apt-get installed$missing, yet /usr/bin/chromium or curl is still missing" \
         "(on Ubuntu, chromium is a snap: use Debian's package)" >&2
    exit 1
fi
