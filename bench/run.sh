#!/usr/bin/env bash
# Time each benchmark on eddy and on python3 in the same run and print the
# ratio eddy/python3 of the medians (hyperfine: one warm-up, RUNS runs),
# plus peak RSS (max of 3 runs, /usr/bin/time -f %M).
#
# usage: bench/run.sh [EDDY] [NAME...]     (default: build/eddy, all scripts)
# env:   RUNS (default 5)
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh hyperfine time
eddy=${1:-build/eddy}
[ $# -gt 0 ] && shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in bench/*.async; do names+=("$(basename "$f" .async)"); done
fi
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

peak() { # command... -> max RSS in MB over 3 runs
    local best=0 kb
    for _ in 1 2 3; do
        /usr/bin/time -o "$tmp/rss" -f %M "$@" >/dev/null 2>&1 || true
        kb=$(tail -n 1 "$tmp/rss")
        [ "$kb" -gt "$best" ] 2>/dev/null && best=$kb
    done
    echo $((best / 1024))
}

printf '%-16s %10s %10s %8s %9s %9s %s\n' script eddy_s python_s ratio eddy_MB py_MB check
logratio=0
count=0
for n in "${names[@]}"; do
    s=bench/$n.async
    want=$(python3 "$s")
    got=$("$eddy" "$s" 2>/dev/null || true)
    ok=ok
    [ "$want" = "$got" ] || ok="WRONG OUTPUT"
    hyperfine -N -w 1 -r "$runs" --export-json "$tmp/$n.json" "$eddy $s" "python3 $s" >/dev/null 2>&1 || true
    read -r te tp <<< "$(python3 -c "
import json,sys
d=json.load(open('$tmp/$n.json'))['results']
print(d[0]['median'], d[1]['median'])" 2>/dev/null || echo "nan nan")"
    ratio=$(python3 -c "print(f'{$te/$tp:.2f}')" 2>/dev/null || echo nan)
    me=$(peak "$eddy" "$s")
    mp=$(peak python3 "$s")
    printf '%-16s %10.3f %10.3f %7sx %9s %9s %s\n' "$n" "$te" "$tp" "$ratio" "$me" "$mp" "$ok"
    if [ "$ok" = ok ] && [ "$ratio" != nan ]; then
        logratio=$(python3 -c "import math; print($logratio + math.log($ratio))")
        count=$((count + 1))
    fi
done
[ "$count" -gt 0 ] && python3 -c "import math; print(f'geometric mean of {$count} ratios: {math.exp($logratio/$count):.2f}x')"
