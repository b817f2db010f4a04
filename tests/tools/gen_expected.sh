#!/usr/bin/env bash
# Generate expected results for script tests by running the oracle, CPython
# 3.11, on each script: NAME.out (stdout), and NAME.err + NAME.status when
# the script fails or writes to stderr. Never edit these files by hand.
#
# usage: gen_expected.sh FILE.async...
set -u
for test in "$@"; do
    name=${test%.async}
    base=$(basename "$test")
    (cd "$(dirname "$test")" && python3 "$base" < /dev/null > "$base.tmp.out" 2> "$base.tmp.err")
    rc=$?
    mv "$name.async.tmp.out" "$name.out"
    if [ "$rc" -ne 0 ] || [ -s "$name.async.tmp.err" ]; then
        # Paths in tracebacks are absolute; keep them relative to the test's
        # directory so the expectation holds in any checkout.
        absdir=$(cd "$(dirname "$test")" && pwd)
        sed "s|$absdir/||g" "$name.async.tmp.err" > "$name.err"
        rm -f "$name.async.tmp.err"
        echo "$rc" > "$name.status"
        [ "$rc" -eq 0 ] && rm -f "$name.status"
    else
        rm -f "$name.async.tmp.err" "$name.err" "$name.status"
    fi
    echo "generated $name.out (exit $rc)"
done
