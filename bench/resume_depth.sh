#!/usr/bin/env bash
# Time bench/resume_depth.async at await-chain depth 1 and 1000 and print the
# ratio: resuming a suspended chain must cost O(1) in its depth (target <= 1.5).
# usage: bench/resume_depth.sh [EDDY]      (default: build/eddy)
set -eu
cd "$(dirname "$0")/.."
eddy=${1:-build/eddy}
run() { # depth -> seconds (best of 3)
    local best="" t
    for _ in 1 2 3; do
        local t0; t0=$(date +%s.%N)
        "$eddy" bench/resume_depth.async "$1" >/dev/null
        t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{ printf "%.3f", b - a }')
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    done
    echo "$best"
}
t1=$(run 1)
t1000=$(run 1000)
echo "depth 1:    ${t1}s"
echo "depth 1000: ${t1000}s"
awk -v a="$t1" -v b="$t1000" 'BEGIN{ printf "ratio:      %.2f\n", (a > 0 ? b / a : 0) }'
