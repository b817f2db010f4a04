#!/usr/bin/env bash
# Install what is missing, build, and run every test suite: the release
# build, then the same suites under AddressSanitizer + UBSan (with the
# testing hooks). Ends with the totals of all suites as one line.
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh
status=0
run_suites() { # build dir, meson options...
    local dir=$1
    shift
    if ! scripts/build.sh "$dir" "$@"; then
        echo "build of $dir failed"
        ninja -C "$dir" 2>&1 | tail -n 30
        status=1
        return
    fi
    meson test -C "$dir" --print-errorlogs --no-rebuild >/dev/null 2>&1 || status=1
    echo "== $dir"
    # Totals of each suite, and every failure with the detail its runner
    # printed under it (indented lines).
    awk '/^FAIL / { show = 1; print; next }
         /^    / { if (show) print; next }
         { show = 0 }
         /^[0-9]+ passed, [0-9]+ failed$|^[0-9]+%: Checks:/ { print }' \
        "$dir/meson-logs/testlog.txt"
    grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|ERROR)' "$dir/meson-logs/testlog.txt" || true
}
run_suites build -Dbuildtype=release
# The sanitizer pass checks Eddy, not the expectations again.
export EDDY_RECHECK=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suites build-asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dtesting=true

# Totals: our runners print "N passed, N failed"; Check prints
# "P%: Checks: N, Failures: F, Errors: E".
totals=$(cat build/meson-logs/testlog.txt build-asan/meson-logs/testlog.txt 2>/dev/null | awk '
    /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
    /^[0-9]+%: Checks: / { gsub(",", ""); n = $3; bad = $5 + $7; p += n - bad; f += bad }
    END { printf "%d %d", p, f }')
read -r passed failed <<< "$totals"
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
