#!/usr/bin/env bash
# `leap grade`: a response on stdin, one JSON line out; bad usage exits non-zero with a message.
set -euo pipefail
: "${LEAP:?set LEAP to the leap binary}"

fail() { echo "FAIL: $*" >&2; exit 1; }

expect_out() {  # expect_out NAME RESPONSE EXPECTED ARGS...
    local name=$1 response=$2 want=$3 got
    shift 3
    got=$(printf '%s' "$response" | "$LEAP" grade "$@") || fail "$name: exit status $?"
    [[ "$got" == "$want" ]] || fail "$name: got '$got', want '$want'"
    echo "ok: $name"
}

expect_out "math boxed, leading zeros" 'So the answer is $\boxed{025}$.' \
    '{"extracted": "025", "correct": true}' --gold 25
expect_out "math nested braces" 'Thus \boxed{\frac{\sqrt{3}}{2}}' \
    '{"extracted": "\\frac{\\sqrt{3}}{2}", "correct": true}' --gold '\sqrt3/2'
expect_out "math substring trap" '\boxed{123}' '{"extracted": "123", "correct": false}' --gold 12
expect_out "math truncated box" 'The answer is \boxed{12' '{"extracted": "", "correct": false}' --gold 12
expect_out "math no answer" 'We got 17 and then 42.' '{"extracted": "", "correct": false}' --gold 42
expect_out "choice default letters" $'Thinking...\nANSWER: C' '{"extracted": "C", "correct": true}' --gold C --choices
expect_out "choice flag before gold" 'ANSWER: B' '{"extracted": "B", "correct": false}' --choices --gold C
expect_out "choice hedge" 'ANSWER: C or D' '{"extracted": "", "correct": false}' --gold C --choices
expect_out "choice letters given" 'ANSWER: E' '{"extracted": "E", "correct": true}' --gold E --choices A,B,C,D,E
expect_out "choice letter outside A-D" 'ANSWER: E' '{"extracted": "", "correct": false}' --gold D --choices
expect_out "empty stdin" '' '{"extracted": "", "correct": false}' --gold 7

# Bad usage: non-zero exit, nothing on stdout, "leap: error:" naming the problem on stderr.
expect_error() {  # expect_error NAME PATTERN ARGS...
    local name=$1 pattern=$2 rc=0 out err
    shift 2
    err=$(mktemp)
    out=$(printf 'ANSWER: A' | "$LEAP" grade "$@" 2>"$err") || rc=$?
    local msg
    msg=$(cat "$err")
    rm -f "$err"
    [[ $rc -ne 0 ]] || fail "$name: exit status 0 (stdout '$out')"
    [[ -z "$out" ]] || fail "$name: printed '$out' on stdout"
    grep -q "leap: error: .*$pattern" <<<"$msg" || fail "$name: stderr '$msg' lacks '$pattern'"
    echo "ok: $name"
}
expect_error "missing --gold" "--gold is required"
expect_error "empty --gold" "--gold is empty" --gold ''
expect_error "gold not a choice" "gold letter 'E' is not one of the choices A,B,C,D" --gold E --choices
expect_error "bad letters list" "comma-separated letters" --gold A --choices 'A,,B'
expect_error "duplicate letters" "duplicate choice letter 'A'" --gold A --choices A,A,B
echo "ok: grade_cli"
