#!/usr/bin/env bash
# Install whatever the build and the tests need and this machine lacks
# (Debian/Ubuntu, apt-get). Safe to run repeatedly: it installs nothing
# when everything is present.
set -eu
need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pc() { have_cmd pkg-config && pkg-config --exists "$1"; }
have_cmd meson || need+=(meson)
have_cmd ninja || need+=(ninja-build)
have_cmd pkg-config || need+=(pkg-config)
have_cmd cc || need+=(gcc)
have_pc check || need+=(check)
have_cmd clang-format || need+=(clang-format)
have_pc libedit || need+=(libedit-dev)
have_pc libpcre2-8 || need+=(libpcre2-dev)
have_pc libffi || need+=(libffi-dev)
for extra in "$@"; do
    case "$extra" in
    hyperfine) have_cmd hyperfine || need+=(hyperfine) ;;
    time) [ -x /usr/bin/time ] || need+=(time) ;;
    *) need+=("$extra") ;;
    esac
done
[ "${#need[@]}" -eq 0 ] && exit 0
echo "installing: ${need[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
