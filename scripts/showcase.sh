#!/usr/bin/env bash
# Install what is missing, build, and run the showcase script.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build -Dbuildtype=release
exec build/eddy samples/showcase.async
