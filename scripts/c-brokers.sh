#!/usr/bin/env bash
# The brokers against the guide's C originals: builds the guide's C `mdbroker` (against CZMQ 3.0.2)
# and `lbbroker` from checkouts you already have, against the same vendored libzmq and `libzmq.a` as
# the release build, and prints table rows (the format of docs/benchmarks.md) with, for each broker
# and 1 and 4 workers:
#   - instructions per request in the broker process (callgrind, all its threads): runs of N and 2N
#     requests, (I(2N) - I(N)) / N, so that start-up and tear-down cancel; the least of IR_RUNS pairs;
#   - requests per second, the median of TIMED_REPS runs of each, C and Rust in turns.
# Nothing is fetched and no fetched code is kept in this repository: the C sources are read from
# ZGUIDE and CZMQ and built under target/release/cbrokers.
#
#   git clone https://github.com/booksbyus/zguide ~/zguide
#   git clone -b v3.0.2 https://github.com/zeromq/czmq ~/czmq-3.0.2
#   ZGUIDE=~/zguide CZMQ=~/czmq-3.0.2 scripts/c-brokers.sh          # about 12 minutes on 2 cores
#   ZGUIDE=~/zguide CZMQ=~/czmq-3.0.2 SUITES="cbrokers" scripts/bench.sh   # the same rows, in the table
#
# The drivers are the perf crate's: `mdp_thr --broker` (an MDP client with 100 requests in flight, echo
# workers, 10 services) for mdbroker over tcp, and `broker_thr --text` (a DEALER client with 100 requests
# in flight, REQ echo workers) for lbbroker over ipc. The C lbbroker receives every frame with zhelpers'
# `s_recv` (a string), so the driver gives its sockets printable identities and sends `x`s; the C source
# is built with three changes made by sed and shown by this script: no client threads, no worker
# threads, and room for 10 workers (NBR_WORKERS), so that it brokers for the driver only. Everything else
# is the guide's code as it stands in ZGUIDE.
#
# Needs: valgrind, a C and C++ compiler, python3 (to read `cargo metadata`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/ir.sh
. scripts/lib/ir.sh
: "${ZGUIDE:?set ZGUIDE to a checkout of booksbyus/zguide}"
: "${CZMQ:?set CZMQ to a checkout of zeromq/czmq at v3.0.2}"
IR_N=${IR_N:-20000}
IR_RUNS=${IR_RUNS:-2}
TIMED_REPS=${TIMED_REPS:-3}
TIMED_N=${TIMED_N:-50000}
WORKERS=${WORKERS:-"1 4"}
CARGO=${CARGO:-cargo}
CC=${CC:-cc}

$CARGO build --release -q -p zmq-patterns-perf --bin mdp_thr --bin broker_thr
$CARGO build --release -q -p zguide-examples --bin mdbroker --bin lbbroker
B=${CARGO_TARGET_DIR:-$PWD/target}/release
O=$B/cbrokers
mkdir -p "$O/obj" "$O/inc"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

vendor=$($CARGO metadata --format-version 1 --locked 2>/dev/null |
    python3 -c 'import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "zeromq-src": print(os.path.join(os.path.dirname(p["manifest_path"]), "vendor"))' | head -n 1)
lib=$(ls -t "$B"/build/zmq-sys-*/out/lib/libzmq.a 2>/dev/null | head -n 1)
[ -n "$vendor" ] && [ -n "$lib" ] || { echo "no vendored libzmq source or release libzmq.a" >&2; exit 1; }
version=$(sed -n 's/^#define CZMQ_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$CZMQ"/include/czmq*.h | paste -sd.)
[ "$version" = 3.0.2 ] || echo "warning: CZMQ is $version here, the guide's C examples were written for 3.0.2" >&2

# CZMQ: every class, compiled as its own build does (-O2), against the vendored libzmq headers. Its
# configure step only writes platform.h, which none of the classes the brokers use needs; ziflist
# (network interfaces, for zbeacon) is left out where it does not compile.
echo "/* empty: CZMQ's configure output, not needed by the classes the brokers use */" >"$O/inc/platform.h"
objs=()
for f in "$CZMQ"/src/z*.c; do
    o=$O/obj/$(basename "$f" .c).o
    if [ ! "$o" -nt "$f" ]; then
        "$CC" -O2 -c -I"$O/inc" -I"$CZMQ/include" -I"$CZMQ/src" -I"$vendor/include" "$f" -o "$o" 2>/dev/null || {
            rm -f "$o"
            continue
        }
    fi
    objs+=("$o")
done
rm -f "$O/libczmq.a"
ar rcs "$O/libczmq.a" "${objs[@]}"

C=$ZGUIDE/examples/C
"$CC" -O2 -w -I"$C" -I"$CZMQ/include" -I"$vendor/include" "$C/mdbroker.c" -o "$O/mdbroker" \
    "$O/libczmq.a" "$lib" -lstdc++ -lpthread 2>"$O/mdbroker.log" || { cat "$O/mdbroker.log" >&2; exit 1; }
sed -e 's/^#define NBR_CLIENTS 10$/#define NBR_CLIENTS 0/' -e 's/^#define NBR_WORKERS 3$/#define NBR_WORKERS 10/' \
    -e 's/worker_nbr < NBR_WORKERS/worker_nbr < 0/' "$C/lbbroker.c" >"$O/lbbroker-driven.c"
echo "the C lbbroker as built (diff against the guide's):" >&2
diff "$C/lbbroker.c" "$O/lbbroker-driven.c" >&2 || true
[ "$(diff "$C/lbbroker.c" "$O/lbbroker-driven.c" | grep -c '^>')" = 3 ] ||
    { echo "lbbroker.c has changed: the three edits above no longer apply" >&2; exit 1; }
"$CC" -O2 -w -I"$C" -I"$vendor/include" "$O/lbbroker-driven.c" -o "$O/lbbroker" "$lib" -lstdc++ -lpthread

# drive KIND WORKERS N -> runs the driver for N requests against the broker already started
drive() {
    case $1 in
    md) timeout 600 "$B/mdp_thr" --broker tcp://127.0.0.1:5555 --workers "$2" --services 10 --requests "$3" ;;
    lb) (cd "$WORK" && timeout 600 "$B/broker_thr" --broker lbbroker --text --frontend ipc://frontend.ipc \
        --backend ipc://backend.ipc --workers "$2" --requests "$3") ;;
    esac
}
# broker_cmd KIND SIDE -> the broker's command line (C or R)
broker_cmd() {
    case $1$2 in
    mdC) echo "$O/mdbroker" ;;
    mdR) echo "$B/mdbroker" ;; # binds tcp://*:5555, as the C one
    lbC) echo "$O/lbbroker" ;;
    lbR) echo "$B/lbbroker --clients 0 --workers 0" ;;
    esac
}
# stop PID: SIGTERM until the broker has gone (the C mdbroker notices a signal only while it waits
# in zmq_poll, so one that lands elsewhere is missed; a background job ignores SIGINT), so that
# callgrind writes its counts; SIGKILL after 30 s
stop() {
    local i
    for i in $(seq 1 60); do
        kill -TERM "$1" 2>/dev/null || break
        sleep 0.5
        kill -0 "$1" 2>/dev/null || break
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
# ir_once KIND SIDE WORKERS N -> instructions the broker process executed for a run of N requests
ir_once() {
    local out=$WORK/cg pid total
    # shellcheck disable=SC2046
    (cd "$WORK" && exec valgrind --tool=callgrind --callgrind-out-file="$out" $(broker_cmd "$1" "$2")) \
        >/dev/null 2>&1 &
    pid=$!
    if ! drive "$1" "$3" "$4" >"$WORK/drive.out" 2>&1; then
        echo "driver failed ($1 $2 $3 workers): $(tail -n 3 "$WORK/drive.out")" >&2
        stop $pid
        return 0
    fi
    stop $pid
    total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | head -n 1)
    echo "$total"
}
# ir_per_request KIND SIDE WORKERS -> instructions per request (scripts/lib/ir.sh)
ir_once_n() { ir_once "$2" "$3" "$4" "$1"; }
ir_per_request() { ir_least ir_once_n "$@"; }
# rate KIND SIDE WORKERS -> requests/s of one timed run
rate() {
    local pid r
    # shellcheck disable=SC2046
    (cd "$WORK" && exec $(broker_cmd "$1" "$2")) >/dev/null 2>&1 &
    pid=$!
    r=$(drive "$1" "$3" "$TIMED_N" 2>/dev/null | sed -n 's/^mean throughput: \([0-9]*\).*/\1/p')
    stop $pid
    echo "$r"
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

for kind in md lb; do
    if [ $kind = md ]; then
        name="mdbroker vs the guide's C mdbroker (CZMQ $version)"
        transport=tcp target=0.5
    else
        name="lbbroker vs the guide's C lbbroker (strings, as its s_recv)"
        transport=ipc target=0.8
    fi
    for w in $WORKERS; do
        r=$(ir_per_request $kind R "$w")
        c=$(ir_per_request $kind C "$w")
        : >"$WORK/rates.R"
        : >"$WORK/rates.C"
        for _ in $(seq 1 "$TIMED_REPS"); do
            rate $kind C "$w" >>"$WORK/rates.C"
            rate $kind R "$w" >>"$WORK/rates.R"
        done
        rr=$(median <"$WORK/rates.R")
        rc=$(median <"$WORK/rates.C")
        awk -v name="$name" -v t="$transport" -v w="$w" -v r="$r" -v c="$c" -v target="$target" \
            -v rr="$rr" -v rc="$rc" 'BEGIN {
            q = (r > 0 && c > 0) ? r / c : 0
            printf "| instructions per request (callgrind): %s | %s | %s workers | %s | – | %s | %s | <= %.2f of C %s |\n",
                name, t, w, (r ? r : "–"), (c ? c : "–"), (q ? sprintf("%.3f", q) : "–"), target,
                (q ? (q <= target ? "met" : "**missed**") : "")
            qt = (rr > 0 && rc > 0) ? rr / rc : 0
            printf "| requests/s: %s | %s | %s workers | %s | – | %s | %s | >= 1.00 of C %s |\n",
                name, t, w, (rr ? rr : "–"), (rc ? rc : "–"), (qt ? sprintf("%.3f", qt) : "–"),
                (qt ? (qt >= 1 ? "met" : "**missed**") : "")
        }'
    done
done
