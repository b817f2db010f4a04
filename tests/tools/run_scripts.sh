#!/usr/bin/env bash
# Script test runner.
#
# usage: run_scripts.sh EDDY DIR...
#
# Every NAME.async under each DIR (recursively, sorted; directories named
# `lib` hold helper modules and are skipped) is run as `EDDY NAME.async`
# from its own directory, with stdin from /dev/null and a time limit. The
# expected results were produced by running python3 on the same script
# (tests/tools/gen_expected.sh):
#   NAME.out     expected stdout, compared byte for byte
#   NAME.status  expected exit status (absent: 0)
#   NAME.err     expected stderr; the last line (the exception line) is
#                compared, or all of it when the script contains the line
#                `# test: full-stderr`; with `# test: full-stderr-own-frames`
#                all of it too, but without the traceback entries of library
#                modules (CPython's own files, absolute paths, and Eddy's
#                `<stdlib>/...`), which differ by nature (asyncio debug mode,
#                callbacks the loop calls)
# Where python3 3.11 is installed, each .out is also re-checked against it
# (the oracle) before Eddy runs; EDDY_RECHECK=0 turns that off.
# Prints PASS/FAIL per test and ends with "N passed, N failed".
set -u

TIMEOUT_S=${EDDY_TEST_TIMEOUT:-30}
if [ "$#" -lt 2 ]; then
    echo "usage: $0 EDDY DIR..." >&2
    exit 2
fi
read -r -a EDDY <<< "$1"
shift
case "${EDDY[0]}" in /*) ;; *) EDDY[0]="$PWD/${EDDY[0]}" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eddy-scripts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
recheck=0
if [ "${EDDY_RECHECK:-1}" = 1 ] && python3 --version 2>/dev/null | grep -q '^Python 3\.11\.'; then
    recheck=1
fi

# Drop library frames ("  File" lines naming an absolute path or <stdlib>,
# with their indented source and caret lines).
# (A "Traceback" header left with no entry goes too: Eddy prints none for a
# failure without script frames, CPython one with only its own.)
own_frames() {
    awk 'skip && /^    / { next }
         { skip = 0 }
         /^  File "(\/|<stdlib>)/ { skip = 1; next }
         /^Traceback \(most recent call last\):$/ { held = $0; next }
         { if (held != "" && /^  File /) print held; held = ""; print }' "$1"
}

fail() {
    echo "FAIL $1${2:+ ($2)}"
    failed=$((failed + 1))
}

for dir in "$@"; do
    while IFS= read -r -d '' test; do
        name=${test%.async}
        base=$(basename "$test")
        tdir=$(dirname "$test")
        [ -f "$name.out" ] || { fail "$test" "missing .out"; continue; }
        want_status=0
        [ -f "$name.status" ] && want_status=$(cat "$name.status")
        if [ "$recheck" = 1 ]; then
            (cd "$tdir" && timeout -k 5 "$TIMEOUT_S" python3 "$base" < /dev/null > "$tmp/py.out" 2> "$tmp/py.err")
            if ! cmp -s "$name.out" "$tmp/py.out"; then
                fail "$test" "expected output differs from python3's"
                continue
            fi
        fi
        (cd "$tdir" && timeout -k 5 "$TIMEOUT_S" "${EDDY[@]}" "$base" < /dev/null > "$tmp/out" 2> "$tmp/err")
        rc=$?
        absdir=$(cd "$tdir" && pwd)
        sed -i "s|$absdir/||g" "$tmp/err"
        problem=""
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            problem="timeout after ${TIMEOUT_S}s"
        elif [ "$rc" -ne "$want_status" ]; then
            problem="exit status $rc, expected $want_status"
        elif ! cmp -s "$name.out" "$tmp/out"; then
            problem="stdout differs"
        elif [ -f "$name.err" ]; then
            if grep -q '^# test: full-stderr-own-frames' "$test"; then
                [ "$(own_frames "$name.err")" = "$(own_frames "$tmp/err")" ] ||
                    problem="stderr differs (library frames aside)"
            elif grep -q '^# test: full-stderr' "$test"; then
                cmp -s "$name.err" "$tmp/err" || problem="stderr differs"
            elif [ "$(tail -n 1 "$name.err")" != "$(tail -n 1 "$tmp/err")" ]; then
                problem="last line of stderr differs"
            fi
        elif [ "$want_status" -eq 0 ] && [ -s "$tmp/err" ] && ! grep -q '^# test: stderr-ok' "$test"; then
            problem="unexpected stderr"
        fi
        if [ -z "$problem" ]; then
            echo "PASS $test"
            passed=$((passed + 1))
        else
            fail "$test" "$problem"
            diff -u --label expected --label actual "$name.out" "$tmp/out" | head -n 15 | sed 's/^/    /'
            if [ -s "$tmp/err" ]; then
                echo "    --- stderr (last lines) ---"
                tail -n 4 "$tmp/err" | sed 's/^/    /'
            fi
        fi
    done < <(find "$dir" -type d -name lib -prune -o -type f -name '*.async' -print0 | LC_ALL=C sort -z)
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
