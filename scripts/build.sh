#!/usr/bin/env bash
# Configure (once) and build a tree. usage: build.sh DIR [meson options...]
set -eu
dir=$1
shift
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --werror "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null
