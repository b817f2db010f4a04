#!/usr/bin/env bash
# Format every C source and header with the project's .clang-format
# (meson test's `format` suite checks that nothing is left unformatted).
set -eu
cd "$(dirname "$0")/.."
find include compiler vm stdlib cli tests/unit tests/embed -name '*.[ch]' -print0 |
    xargs -0 clang-format -i
