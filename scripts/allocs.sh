#!/usr/bin/env bash
# Heap allocations per request in the guide's brokers, counted by valgrind: each broker binary
# runs under valgrind twice, once for a short and once for a long run of the same traffic (from
# perf's broker_thr / mdp_thr, 16-byte requests so that libzmq keeps every frame inline), and
# the difference in "total heap usage" divided by the difference in requests is what one
# request costs in steady state. 0.00 means nothing is allocated per message.
#
#   scripts/allocs.sh            # about a minute; needs valgrind
#
# Prints one line per broker; scripts/bench.sh does not run it (it is not about speed).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
SHORT=${SHORT:-2000}
LONG=${LONG:-12000}

cargo build --release -q -p zmq-patterns-perf -p zguide-examples \
    --bin broker_thr --bin mdp_thr --bin lbbroker --bin asyncsrv-proxy --bin mdbroker
B=$PWD/target/release
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
port=$((20000 + RANDOM % 20000))

# allocs NAME REQUESTS -> the broker's total allocations for that many requests
allocs() {
    local fe=tcp://127.0.0.1:$((port += 1)) be=tcp://127.0.0.1:$((port += 1)) log=$WORK/$1.$2 pid
    case $1 in
    lbbroker)
        valgrind --log-file="$log" "$B/lbbroker" --frontend "$fe" --backend "$be" \
            --clients 0 --workers 0 </dev/null >/dev/null 2>&1 &
        pid=$!
        "$B/broker_thr" --broker lbbroker --frontend "$fe" --backend "$be" --workers 2 \
            --requests "$2" --size 16 --inflight 10 >/dev/null
        ;;
    asyncsrv-proxy)
        valgrind --log-file="$log" "$B/asyncsrv-proxy" --frontend "$fe" --backend "$be" \
            </dev/null >/dev/null 2>&1 &
        pid=$!
        "$B/broker_thr" --broker asyncsrv --frontend "$fe" --backend "$be" --workers 2 \
            --requests "$2" --size 16 --inflight 10 >/dev/null
        ;;
    mdbroker)
        valgrind --log-file="$log" "$B/mdbroker" --bind "$fe" </dev/null >/dev/null 2>&1 &
        pid=$!
        "$B/mdp_thr" --broker "$fe" --workers 2 --services 10 --requests "$2" --size 16 \
            --inflight 10 >/dev/null
        ;;
    esac
    kill -TERM "$pid"
    wait "$pid" || true
    sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$log" | tr -d ,
}

printf '%-16s %10s %10s %18s\n' broker "allocs/$SHORT" "allocs/$LONG" "allocs per request"
for broker in lbbroker asyncsrv-proxy mdbroker; do
    a=$(allocs "$broker" "$SHORT")
    b=$(allocs "$broker" "$LONG")
    printf '%-16s %10s %10s %18s\n' "$broker" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" -v n=$((LONG - SHORT)) 'BEGIN { printf "%.3f", (b - a) / n }')"
done
