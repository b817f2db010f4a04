#!/usr/bin/env bash
# Run the examples in the documentation.
#
# usage: check_docs.sh EDDY FILE.md...
#
# A fenced block whose info string is `python run` is a runnable example;
# the fenced block that follows it with info string `output` is its exact
# expected stdout. Each example runs on Eddy and, where python3 3.11 is
# installed, on python3 too (the oracle), and both must print the block.
set -u
EDDY=$1
shift
case "$EDDY" in /*) ;; *) EDDY="$PWD/$EDDY" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
oracle=0
python3 --version 2>/dev/null | grep -q '^Python 3\.11\.' && oracle=1
for doc in "$@"; do
    rm -f "$tmp"/ex_* "$tmp"/out_*
    # Split the document into ex_N (code) and out_N (expected output).
    awk -v dir="$tmp" '
        /^```python run$/ { n++; mode = "ex"; file = dir "/ex_" n; printf "" > file; next }
        /^```output$/     { mode = "out"; file = dir "/out_" n; printf "" > file; next }
        /^```/            { mode = ""; next }
        mode != ""        { print >> file }
    ' "$doc"
    for ex in "$tmp"/ex_*; do
        [ -e "$ex" ] || continue
        n=${ex##*_}
        name="$doc example $n"
        if [ ! -f "$tmp/out_$n" ]; then
            echo "FAIL $name (no output block)"
            failed=$((failed + 1))
            continue
        fi
        cp "$ex" "$tmp/example.async"
        problem=""
        if [ "$oracle" = 1 ]; then
            (cd "$tmp" && timeout 20 python3 example.async < /dev/null > py.out 2>/dev/null)
            cmp -s "$tmp/py.out" "$tmp/out_$n" || problem="python3 prints something else"
        fi
        if [ -z "$problem" ]; then
            (cd "$tmp" && timeout 20 "$EDDY" example.async < /dev/null > eddy.out 2> eddy.err)
            cmp -s "$tmp/eddy.out" "$tmp/out_$n" || problem="eddy prints something else"
        fi
        if [ -z "$problem" ]; then
            echo "PASS $name"
            passed=$((passed + 1))
        else
            echo "FAIL $name ($problem)"
            diff -u --label expected --label actual "$tmp/out_$n" "$tmp/eddy.out" 2>/dev/null \
                | head -n 12 | sed 's/^/    /'
            failed=$((failed + 1))
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
