#!/usr/bin/env bash
# Every C source and header of the project must be formatted by
# .clang-format (scripts/format.sh applies it). Prints FAIL per file that is
# not, and ends with "N passed, N failed".
#
# usage: check_format.sh SOURCE_ROOT
set -u
cd "$1" || exit 2
if ! command -v clang-format >/dev/null 2>&1; then
    echo "FAIL clang-format is not installed (scripts/deps.sh installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
while IFS= read -r f; do
    if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        passed=$((passed + 1))
    else
        echo "FAIL $f (run scripts/format.sh)"
        failed=$((failed + 1))
    fi
done < <(find include compiler vm stdlib cli tests/unit tests/embed -name '*.[ch]' | sort)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
