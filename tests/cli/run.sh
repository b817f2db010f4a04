#!/usr/bin/env bash
# Command-line behaviour of the eddy executable: options, argv, exit codes.
# usage: run.sh EDDY
set -u
EDDY=$1
case "$EDDY" in /*) ;; *) EDDY="$PWD/$EDDY" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # name, expected, actual
    if [ "$2" = "$3" ]; then
        echo "PASS $1"
        passed=$((passed + 1))
    else
        echo "FAIL $1"
        echo "    expected: $2"
        echo "    actual:   $3"
        failed=$((failed + 1))
    fi
}

check version "Eddy $("$EDDY" --version | cut -d' ' -f2)" "$("$EDDY" --version)"
"$EDDY" --help | grep -q '^usage: eddy'; check help 0 $?
check dash-c "42" "$("$EDDY" -c 'print(6 * 7)')"
check dash-c-argv "['-c', 'a', 'b']" "$("$EDDY" -c 'import sys; print(sys.argv)' a b)"
printf 'import sys\nprint(sys.argv[1:])\n' > "$tmp/args.async"
check script-argv "['x', '--y']" "$("$EDDY" "$tmp/args.async" x --y)"
check stdin "7" "$(echo 'print(3 + 4)' | "$EDDY")"
check stdin-dash "8" "$(echo 'print(4 + 4)' | "$EDDY" -)"
printf 'print("module main", __name__)\n' > "$tmp/mymod.async"
check dash-m "module main __main__" "$(cd "$tmp" && "$EDDY" -m mymod)"
"$EDDY" "$tmp/does-not-exist.async" 2> "$tmp/err"
check missing-file-status 2 $?
grep -q "can't open file" "$tmp/err"; check missing-file-message 0 $?
"$EDDY" --no-such-option 2>/dev/null; check bad-option 2 $?
"$EDDY" -c 'raise SystemExit(5)'; check exit-code 5 $?
"$EDDY" -c '1/0' 2> "$tmp/err"; check error-status 1 $?
check error-last-line "ZeroDivisionError: division by zero" "$(tail -n 1 "$tmp/err")"
mkdir "$tmp/dir.async"
"$EDDY" "$tmp/dir.async" 2>/dev/null; rc=$?; [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; check directory-not-crash 0 $?
head -c 3000 /dev/urandom > "$tmp/random.async"
"$EDDY" "$tmp/random.async" >/dev/null 2>&1; rc=$?; [ "$rc" -eq 1 ]; check random-bytes-syntax-error 0 $?
# REPL driven through a pipe is non-interactive: it reads a program from stdin.
check repl-pipe "3" "$(printf 'x = 1\nprint(x + 2)\n' | "$EDDY")"
# The interactive REPL, on a pseudo-terminal (util-linux `script`): echo of
# expression results, multi-line blocks, errors that do not end the session.
if command -v script >/dev/null 2>&1; then
    printf '6 * 7\ndef sq(x):\n    return x * x\n\n[sq(n) for n in range(4)]\nNone\n1/0\n_\nx = (1,\n2)\nx\n' \
        | HOME="$tmp" timeout 20 script -qec "$EDDY" /dev/null 2>&1 | tr -d '\r' > "$tmp/repl"
    # Only the session from its first prompt on: the terminal echoes the
    # input that arrives before the line editor takes over, and on a loaded
    # machine that can come after the banner as well as before it.
    sed -n '/^>>> /,$p' "$tmp/repl" > "$tmp/session"
    cat > "$tmp/want" <<'WANT'
>>> 6 * 7
42
>>> def sq(x):
...     return x * x
... 
>>> [sq(n) for n in range(4)]
[0, 1, 4, 9]
>>> None
>>> 1/0
Traceback (most recent call last):
  File "<stdin>", line 1, in <module>
ZeroDivisionError: division by zero
>>> _
[0, 1, 4, 9]
>>> x = (1,
... 2)
>>> x
(1, 2)
WANT
    check repl-session "$(cat "$tmp/want")" "$(sed -n '1,18p' "$tmp/session")"
fi
# asyncio debug mode (Eddy's own stderr report, so it is checked here rather
# than against CPython): the environment variables turn it on, and a task
# step that blocks the loop is reported with the task, its duration and the
# source lines the step ran between.
check asyncio-debug-env "True True False" "$(
    a=$(EDDY_ASYNCIO_DEBUG=1 "$EDDY" -c 'import asyncio; print(asyncio.new_event_loop().get_debug())')
    b=$(PYTHONASYNCIODEBUG=1 "$EDDY" -c 'import asyncio; print(asyncio.new_event_loop().get_debug())')
    c=$(EDDY_ASYNCIO_DEBUG= PYTHONASYNCIODEBUG= "$EDDY" -c 'import asyncio; print(asyncio.new_event_loop().get_debug())')
    echo "$a $b $c")"
cat > "$tmp/slow.async" <<'SLOW'
import asyncio
import time


async def blocker():
    await asyncio.sleep(0)
    time.sleep(0.15)  # blocks the loop
    await asyncio.sleep(0)


async def main():
    await asyncio.create_task(blocker(), name="the-blocker")


asyncio.run(main(), debug=True)
SLOW
"$EDDY" "$tmp/slow.async" 2> "$tmp/slow.err"
grep -q "^Executing <Task pending name='the-blocker' coro=<blocker() running at .*slow.async:8>.* took 0\.1[5-9][0-9] seconds" "$tmp/slow.err"
check asyncio-debug-slow-step 0 $?
check asyncio-debug-slow-lines "slow.async:6|    await asyncio.sleep(0)|slow.async:8|    await asyncio.sleep(0)" \
    "$(sed -n '2,5p' "$tmp/slow.err" | sed 's|^  .* at .*/||' | tr '\n' '|' | sed 's/|$//')"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
