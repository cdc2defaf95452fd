#!/usr/bin/env bash
# Side-by-side benchmarks of zmq-patterns against plain zmq (and the crate's proxy against
# libzmq's zmq_proxy) in one run on one machine, reported as medians over repetitions.
# Throughput and latency: each run of a perf tool moves its modes in turns, in blocks (A B, B A,
# ... on the same threads and connection), and reports the median of its per-round ratios; the
# table gives the median of those over the repetitions. Proxies: one process per side, A B A B.
# Prints the table and writes it, with the machine and the date, into docs/benchmarks.md
# (between the bench markers; the notes around them are kept).
#
#   scripts/bench.sh            # REPS=7, sizes 1 64 1024 65536: about 6.5 minutes on 2 cores, plus the first release build (2-3 minutes)
#   REPS=3 SIZES="64" scripts/bench.sh
#   SUITES="freelance bstar" DOC=/tmp/bench.md scripts/bench.sh   # some suites only (all: core ctools brokers freelance bstar fileio clone cbrokers)
#   ZGUIDE=~/zguide CZMQ=~/czmq-3.0.2 SUITES=cbrokers scripts/bench.sh   # mdbroker and lbbroker against the guide's C
#                                      # originals (scripts/c-brokers.sh; left out without ZGUIDE and CZMQ)
#   SUITES=ctools IR_SIZES="64" scripts/bench.sh   # instructions per message only (callgrind), Rust tools vs libzmq's C tools
#   ZGUIDE=~/zguide scripts/bench.sh   # also the guide's Python Clone model five beside ours (a venv with pyzmq and
#                                      # tornado is made; its figures are taken once, and use ports 5556-5558)
#
# libzmq's own C perf tools (local_thr, remote_thr, local_lat, remote_lat, inproc_thr, inproc_lat) are built
# from the libzmq source that the `zeromq-src` crate vendors (found by `cargo metadata`, nothing fetched) against
# the `libzmq.a` of the release build, with the machine's C++ compiler (CXX, else c++), and run beside the
# Rust tools ("libzmq C tools" column). Suite ctools counts instructions per message under callgrind
# (valgrind): each tool runs with N and 2N messages and the difference of the totals (all threads, and for
# tcp both processes) divided by N is the count, so start-up and tear-down cancel. Without valgrind or a
# C++ compiler those rows are left out.
#
# Speed lives here, never in timed tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/ir.sh
. scripts/lib/ir.sh
REPS=${REPS:-7}
SIZES=${SIZES:-"1 64 1024 65536"}
SUITES=" ${SUITES:-core ctools brokers freelance bstar fileio clone cbrokers} "
suite() { [[ $SUITES == *" $1 "* ]]; }
DOC=${DOC:-docs/benchmarks.md}

CARGO=${CARGO:-cargo} # e.g. CARGO="flock /tmp/cargo.lock cargo" where builds must take turns
$CARGO build --release -q -p zmq-patterns-perf
$CARGO build --release -q -p zguide-examples --bin lbbroker --bin asyncsrv-proxy \
    --bin flserver2 --bin flclient2 --bin flserver3 --bin flclient3 --bin bstarsrv --bin bstarcli \
    --bin msgqueue --bin mktestdata --bin fileio1 --bin fileio2 --bin fileio3 --bin clonesrv5
B=${CARGO_TARGET_DIR:-$PWD/target}/release
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

# build_ctools: libzmq's perf tools into $C (empty C if they cannot be built here)
C=$B/ctools
build_ctools() {
    local cxx=${CXX:-c++} vendor lib t
    vendor=$($CARGO metadata --format-version 1 --locked 2>/dev/null |
        python3 -c 'import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "zeromq-src": print(os.path.join(os.path.dirname(p["manifest_path"]), "vendor"))' | head -n 1)
    lib=$(ls -t "$B"/build/zmq-sys-*/out/lib/libzmq.a 2>/dev/null | head -n 1)
    if [ -z "$vendor" ] || [ -z "$lib" ] || ! command -v "$cxx" >/dev/null; then
        echo "libzmq C tools: no vendored libzmq source, libzmq.a or C++ compiler; their column stays empty" >&2
        C=
        return
    fi
    mkdir -p "$C"
    for t in local_thr remote_thr local_lat remote_lat inproc_thr inproc_lat; do
        if [ ! "$C/$t" -nt "$lib" ] || [ ! "$C/$t" -nt "$vendor/perf/$t.cpp" ]; then
            "$cxx" -O2 -I"$vendor/include" -I"$(dirname "$(dirname "$lib")")" -o "$C/$t" "$vendor/perf/$t.cpp" "$lib" -lpthread
        fi
    done
}
build_ctools
RESULTS=$WORK/results # lines: key variant rep value
port=$((20000 + RANDOM % 20000))

thr_count() { case $1 in 1 | 64) echo 1000000 ;; 1024) echo 300000 ;; *) echo 20000 ;; esac; }
lat_count() { # transport size
    if [ "$1" = inproc ]; then echo 20000; else case $2 in 65536) echo 2000 ;; *) echo 5000 ;; esac; fi
}
value() { sed -n "s|^$1: \([0-9.]*\).*|\1|p" | head -n 1; }

# thr TRANSPORT SIZE MODES FRAMES -> the tools' output; MODES (comma-separated) take turns in
# blocks within the one run, the first is the baseline
thr() {
    local count
    count=$(thr_count "$2")
    if [ "$1" = inproc ]; then
        "$B/inproc_thr" "$2" "$count" --mode "$3" --frames "$4"
    else
        port=$((port + 1))
        "$B/local_thr" "tcp://127.0.0.1:$port" "$2" "$count" --mode "$3" >"$WORK/local" &
        local pid=$!
        "$B/remote_thr" "tcp://127.0.0.1:$port" "$2" "$count" --mode "$3" --frames "$4"
        wait $pid
        cat "$WORK/local"
    fi
}
# lat TRANSPORT SIZE MODES -> the tools' output
lat() {
    local count
    count=$(lat_count "$1" "$2")
    if [ "$1" = inproc ]; then
        "$B/inproc_lat" "$2" "$count" --mode "$3"
    else
        port=$((port + 1))
        "$B/local_lat" "tcp://127.0.0.1:$port" "$2" "$count" --mode "$3" &
        local pid=$!
        "$B/remote_lat" "tcp://127.0.0.1:$port" "$2" "$count" --mode "$3"
        wait $pid
    fi
}
# thr_c TRANSPORT SIZE / lat_c TRANSPORT SIZE -> libzmq's C tool's figure
thr_c() {
    local count
    count=$(thr_count "$2")
    if [ "$1" = inproc ]; then
        "$C/inproc_thr" "$2" "$count"
    else
        port=$((port + 1))
        "$C/local_thr" "tcp://127.0.0.1:$port" "$2" "$count" &
        local pid=$!
        "$C/remote_thr" "tcp://127.0.0.1:$port" "$2" "$count"
        wait $pid
    fi | value "mean throughput"
}
lat_c() {
    local count
    count=$(lat_count "$1" "$2")
    if [ "$1" = inproc ]; then
        "$C/inproc_lat" "$2" "$count"
    else
        port=$((port + 1))
        "$C/local_lat" "tcp://127.0.0.1:$port" "$2" "$count" &
        local pid=$!
        "$C/remote_lat" "tcp://127.0.0.1:$port" "$2" "$count"
        wait $pid
    fi | value "average latency"
}
# ir_total OUT CMD... -> the instructions callgrind counted in the process (all its threads)
ir_total() {
    local out=$1
    shift
    timeout 600 valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1 || {
        echo "FAIL: callgrind $*" >&2
        return 0
    }
    sed -n 's/^totals: *\([0-9]*\).*/\1/p; s/^summary: *\([0-9]*\).*/\1/p' "$out" | head -n 1
}
# ir_run TRANSPORT SIZE COUNT DIR [MODE FRAMES] -> instructions of one throughput run of DIR's tools
# (both processes for tcp); a Rust tool in MODE with FRAMES parts, a C tool without them
ir_run() {
    local extra=() a b
    [ -n "${5:-}" ] && extra=(--mode "$5" --frames "$6")
    if [ "$1" = inproc ]; then
        ir_total "$WORK/cg.inproc" "$4/inproc_thr" "$2" "$3" "${extra[@]}"
    else
        port=$((port + 1))
        ir_total "$WORK/cg.local" "$4/local_thr" "tcp://127.0.0.1:$port" "$2" "$3" "${extra[@]}" >"$WORK/ir.local" &
        local pid=$!
        b=$(ir_total "$WORK/cg.remote" "$4/remote_thr" "tcp://127.0.0.1:$port" "$2" "$3" "${extra[@]}")
        wait $pid
        a=$(cat "$WORK/ir.local")
        [ -n "$a" ] && [ -n "$b" ] && echo $((a + b))
    fi
}
# ir_per_msg TRANSPORT SIZE DIR [MODE FRAMES] -> instructions per message (scripts/lib/ir.sh)
IR_N=${IR_N:-20000}
IR_RUNS=${IR_RUNS:-3}
ir_run_n() { ir_run "$2" "$3" "$1" "$4" "${5:-}" "${6:-}"; }
ir_per_msg() { ir_least ir_run_n "$@"; }
# pair KEY MODE BASELINE REP < output: records the mode's figure (A), the baseline's (B) and the
# run's ratio of the two (R, the median of its per-round ratios)
pair() {
    local out
    out=$(cat)
    record "$1" A "$4" "$(value "mode $2" <<<"$out")"
    record "$1" B "$4" "$(value "mode $3" <<<"$out")"
    record "$1" R "$4" "$(value "ratio $2/$3" <<<"$out")"
}
# proxy KIND WORKERS -> round trips/s
proxy() {
    "$B/proxy_thr" --proxy "$1" --workers "$2" --size 64 --requests 200000 | value "mean throughput"
}
# mdp WORKERS SERVICES -> requests/s
mdp() {
    "$B/mdp_thr" --workers "$1" --services "$2" --requests 30000 | value "mean throughput"
}
# broker NAME WORKERS -> requests/s through the lbbroker or asyncsrv-proxy binary
broker() {
    case $1 in
    lbbroker) "$B/broker_thr" --broker lbbroker --spawn "$B/lbbroker" --workers "$2" --requests 15000 ;;
    asyncsrv) "$B/broker_thr" --broker asyncsrv --spawn "$B/asyncsrv-proxy" --workers "$2" --requests 100000 ;;
    msgqueue)
        # the library's Proxy (ROUTER-DEALER, in msgqueue) through the same harness as asyncsrv-proxy
        local fe=$((port + 1)) be=$((port + 2)) pid
        port=$((port + 2))
        "$B/msgqueue" --frontend "tcp://127.0.0.1:$fe" --backend "tcp://127.0.0.1:$be" >/dev/null 2>&1 &
        pid=$!
        sleep 0.2 # it binds; the harness's connects would wait for it anyway
        "$B/broker_thr" --broker asyncsrv --frontend "tcp://127.0.0.1:$fe" --backend "tcp://127.0.0.1:$be" \
            --workers "$2" --requests 100000
        kill $pid 2>/dev/null
        wait $pid 2>/dev/null || true
        ;;
    esac | value "mean throughput"
}
# freelance MODEL SERVERS -> microseconds per request, flclientN against SERVERS flserverN
freelance() {
    local eps=() pids=() i
    for i in $(seq 1 "$2"); do
        port=$((port + 1))
        eps+=("tcp://127.0.0.1:$port")
        if [ "$1" = 2 ]; then
            "$B/flserver2" "tcp://127.0.0.1:$port" >/dev/null &
        else
            "$B/flserver3" --bind "tcp://127.0.0.1:$port" >/dev/null &
        fi
        pids+=($!)
    done
    sleep 0.2 # the servers bind; a client's first request would wait for them anyway
    if [ "$1" = 2 ]; then
        "$B/flclient2" "${eps[@]}" --requests 10000
    else
        "$B/flclient3" --connect "${eps[@]}" --requests 10000
    fi | sed -n 's/^Average round trip cost: \([0-9]*\) usec$/\1/p'
    kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null || true
}
now_ms() { date +%s%3N; }
# failover HEARTBEAT_MS TIMEOUT_MS SETTLE_MS -> milliseconds from killing the active bstarsrv to the client's
# first answer from the backup (bstarcli sends every 10 ms)
failover() {
    local p1=$((port + 1)) p2=$((port + 2)) p3=$((port + 3)) p4=$((port + 4)) primary backup client t0 i ms=""
    port=$((port + 4))
    "$B/bstarsrv" -p --frontend "tcp://127.0.0.1:$p1" --statepub "tcp://127.0.0.1:$p3" \
        --statesub "tcp://127.0.0.1:$p4" --heartbeat-ms "$1" >/dev/null &
    primary=$!
    "$B/bstarsrv" -b --frontend "tcp://127.0.0.1:$p2" --statepub "tcp://127.0.0.1:$p4" \
        --statesub "tcp://127.0.0.1:$p3" --heartbeat-ms "$1" >/dev/null &
    backup=$!
    "$B/bstarcli" --primary "tcp://127.0.0.1:$p1" --backup "tcp://127.0.0.1:$p2" --timeout-ms "$2" \
        --settle-ms "$3" --interval-ms 10 |
        while IFS= read -r line; do echo "$(now_ms) $line"; done >"$WORK/cli" &
    client=$!
    for i in $(seq 1 300); do # the pair is up and the client has answers (30 s at most)
        [ "$(grep -c "server replied OK" "$WORK/cli")" -ge 20 ] && break
        sleep 0.1
    done
    t0=$(now_ms)
    kill $primary
    for i in $(seq 1 300); do
        ms=$(awk -v t0="$t0" '$1 >= t0 && /failing over/ { over = 1 } over && /server replied OK/ { print $1 - t0; exit }' "$WORK/cli")
        [ -n "$ms" ] && break
        sleep 0.1
    done
    kill $backup $client 2>/dev/null
    pkill -f "bstarcli --primary tcp://127.0.0.1:$p1 " 2>/dev/null || true
    wait $primary $backup $client 2>/dev/null || true
    echo "${ms:-}"
}
# fileio MODEL REP: moves the 256 MiB test file with fileioMODEL over loopback; records MB/s and
# the process's peak memory (MB)
FILE_MB=256
fileio() {
    [ -f "$WORK/testdata" ] || "$B/mktestdata" --file "$WORK/testdata" --size $((FILE_MB << 20))
    port=$((port + 1))
    local t0 t1 out
    t0=$(date +%s%N)
    out=$("$B/fileio$1" --bind "tcp://127.0.0.1:$port" --connect "tcp://127.0.0.1:$port" \
        --file "$WORK/testdata" --peak-memory)
    t1=$(date +%s%N)
    if ! grep -q " $((FILE_MB << 20)) bytes" <<<"$out"; then
        # a short transfer is a bug (chunks lost), not a figure
        echo "FAIL: fileio$1 moved less than $FILE_MB MiB: $(head -n 1 <<<"$out")" >&2
    else
        record "file/tcp/$1" A "$2" "$(awk -v mb="$FILE_MB" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", mb * 1048576 / 1e6 / (ns / 1e9) }')"
        record "filemem/tcp/$1" A "$2" "$(sed -n 's/^peak memory: \([0-9]*\) kB$/\1/p' <<<"$out" | awk '{ printf "%.1f", $1 / 1024 }')"
    fi
}
# clone_rust REP: updates/s through clonesrv5 with 1 and 10 clients, snapshot time of 10,000 and 100,000 keys,
# each on a fresh server
clone_rust() {
    local what
    for what in "updates --clients 1" "updates --clients 10" "snapshot --keys 10000" "snapshot --keys 100000"; do
        local p=$((port + 1))
        port=$((port + 3))
        RUST_LOG=warn "$B/clonesrv5" --snapshot "tcp://127.0.0.1:$p" --publisher "tcp://127.0.0.1:$((p + 1))" \
            --collector "tcp://127.0.0.1:$((p + 2))" --max-keys 200000 >/dev/null &
        local pid=$!
        # shellcheck disable=SC2086 # $what is the tool's arguments
        clone_figure "$1" A "$p" $what
        kill $pid 2>/dev/null
        wait $pid 2>/dev/null || true
    done
}
# clone_python: the same against the guide's clonesrv5.py (ports 5556-5558), once
clone_python() {
    local py=python3 what
    if ! $py -c 'import zmq, tornado' 2>/dev/null; then
        python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q pyzmq tornado || return 0
        py=$WORK/venv/bin/python
    fi
    for what in "updates --clients 1 --updates 5000" "updates --clients 10 --updates 1000" "snapshot --keys 10000" \
        "snapshot --keys 100000 --rounds 1"; do
        (cd "$ZGUIDE/examples/Python" && exec $py clonesrv5.py) >/dev/null 2>&1 &
        local pid=$!
        sleep 1 # it binds; the tool waits for it anyway
        # shellcheck disable=SC2086
        clone_figure 1 P 5556 $what
        kill $pid 2>/dev/null
        wait $pid 2>/dev/null || true
    done
}
# clone_figure REP VARIANT PORT ARGS...: runs clone_thr and records its figure
clone_figure() {
    local rep=$1 variant=$2 p=$3 out
    shift 3
    out=$(timeout 300 "$B/clone_thr" --port "$p" "$@") || { echo "FAIL: clone_thr $* against port $p" >&2; return 0; }
    case $1 in
    updates) record "clone/updates/$3" "$variant" "$rep" "$(value "updates per second" <<<"$out")" ;;
    snapshot) record "clone/snapshot/$3" "$variant" "$rep" "$(value "snapshot ms" <<<"$out")" ;;
    esac
}
record() { [ -n "$4" ] && echo "$1 $2 $3 $4" >>"$RESULTS"; }

echo "== throughput and latency, $REPS repetitions, sizes $SIZES"
for rep in $(seq 1 "$REPS"); do
    for t in tcp inproc; do
        suite core || continue
        for s in $SIZES; do
            out=$(thr $t "$s" raw,frame,msg 1)
            pair "thr1/$t/$s" frame raw "$rep" <<<"$out"
            pair "thr1msg/$t/$s" msg raw "$rep" <<<"$out"
            thr $t "$s" multipart,msg 2 | pair "thr2/$t/$s" msg multipart "$rep"
            lat $t "$s" raw,frame | pair "lat/$t/$s" frame raw "$rep"
            if [ -n "$C" ]; then
                record "thr1/$t/$s" C "$rep" "$(thr_c $t "$s")"
                record "lat/$t/$s" C "$rep" "$(lat_c $t "$s")"
            fi
        done
    done
    if [ "$rep" = 1 ] && suite ctools && [ -n "$C" ] && command -v valgrind >/dev/null; then
        # instruction counts do not drift from run to run: taken once
        for t in inproc tcp; do
            for s in ${IR_SIZES:-64 1024}; do
                cir=$(ir_per_msg $t "$s" "$C")
                raw=$(ir_per_msg $t "$s" "$B" raw 1)
                record "ir1/$t/$s" A 1 "$(ir_per_msg $t "$s" "$B" frame 1)"
                record "ir1/$t/$s" B 1 "$raw"
                record "ir1/$t/$s" C 1 "$cir"
                record "ir1msg/$t/$s" A 1 "$(ir_per_msg $t "$s" "$B" msg 1)"
                record "ir1msg/$t/$s" B 1 "$raw"
                record "ir1msg/$t/$s" C 1 "$cir"
                record "ir2/$t/$s" A 1 "$(ir_per_msg $t "$s" "$B" msg 2)"
                record "ir2/$t/$s" B 1 "$(ir_per_msg $t "$s" "$B" raw 2)"
            done
        done
    fi
    for w in 1 4; do
        suite brokers || continue
        # Two pairs per repetition, A B then B A: one process per side, so more samples
        for kind in proxy proxy-capture proxy-steerable; do
            crate=crate${kind#proxy}
            zmq=zmq${kind#proxy}
            record "$kind/tcp/$w" A $((2 * rep - 1)) "$(proxy "$crate" "$w")"
            record "$kind/tcp/$w" B $((2 * rep - 1)) "$(proxy "$zmq" "$w")"
            record "$kind/tcp/$w" B $((2 * rep)) "$(proxy "$zmq" "$w")"
            record "$kind/tcp/$w" A $((2 * rep)) "$(proxy "$crate" "$w")"
        done
        for services in 10 1000; do
            record "mdp/tcp/$w/$services" A "$rep" "$(mdp "$w" "$services")"
        done
        record "lb/tcp/$w" A "$rep" "$(broker lbbroker "$w")"
        record "async/tcp/$w" A "$rep" "$(broker asyncsrv "$w")"
        record "async/tcp/$w" B "$rep" "$(broker msgqueue "$w")"
    done
    if suite freelance; then
        for servers in 1 3; do
            record "fl2/tcp/$servers" A "$rep" "$(freelance 2 "$servers")"
            record "fl3/tcp/$servers" A "$rep" "$(freelance 3 "$servers")"
        done
    fi
    if suite fileio; then
        for model in 1 2 3; do fileio "$model" "$rep"; done
    fi
    if suite clone; then
        clone_rust "$rep"
        if [ "$rep" = 1 ] && [ -n "${ZGUIDE:-}" ]; then clone_python; fi
    fi
    if suite bstar; then
        record "bstar/tcp/guide" A "$rep" "$(failover 1000 1000 2000)"
        record "bstar/tcp/fast" A "$rep" "$(failover 100 100 200)"
    fi
    echo "   repetition $rep of $REPS done"
done

TABLE=$WORK/table
awk -v reps="$REPS" '
function median(arr, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
    return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ v[$1, $2, $3] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++nk] = $1 } }
END {
    print "| benchmark | transport | size / workers | zmq-patterns | plain zmq | libzmq C tools | ratio | target |"
    print "|---|---|---|---|---|---|---|---|"
    for (k = 1; k <= nk; k++) {
        key = order[k]; split(key, p, "/")
        n = 0; m = 0
        if (p[1] == "file" || p[1] == "filemem") {
            for (r = 1; r <= reps; r++) if ((key, "A", r) in v) a[++m] = v[key, "A", r]
            if (m == 0) continue
            if (p[1] == "file") {
                guide = (p[3] == 3) ? "guide: fileio3 about 0.67 s per GiB (~1600 MB/s)" : "(figures)"
                printf "| File transfer, 256 MiB over loopback (MB/s): fileio%s | tcp | fileio%s | %.0f | – | – | – | %s |\n", p[3], p[3], median(a, m), guide
            } else {
                printf "| File transfer, 256 MiB: peak memory of the process (MB) | tcp | fileio%s | %.1f | – | – | – | %s |\n", p[3], median(a, m), (p[3] == 3 ? "bounded (credit)" : "(figures)")
            }
            continue
        }
        if (p[1] == "clone") {
            for (r = 1; r <= reps; r++) if ((key, "A", r) in v) a[++m] = v[key, "A", r]
            if (m == 0) continue
            py = ((key, "P", 1) in v) ? sprintf("guide'"'"'s Python clonesrv5.py: %.0f", v[key, "P", 1]) : "(figures)"
            if (p[2] == "updates") printf "| Clone model 5 (updates/s published): clonesrv5, clients pushing kvmsgs | tcp | %s clients | %.0f | – | – | – | %s |\n", p[3], median(a, m), py
            else printf "| Clone model 5 (ms for a whole snapshot): clonesrv5, ICANHAZ? to KTHXBAI | tcp | %s keys | %.0f | – | – | – | %s |\n", p[3], median(a, m), py
            continue
        }
        if (p[1] == "fl2" || p[1] == "fl3" || p[1] == "bstar") {
            for (r = 1; r <= reps; r++) if ((key, "A", r) in v) a[++m] = v[key, "A", r]
            if (m == 0) continue
            if (p[1] == "bstar") {
                if (p[3] == "guide") { unit = "heartbeat 1 s, client timeout 1 s, settle 2 s"; guide = "(by design: about 3 s)" }
                else { unit = "heartbeat 100 ms, client timeout 100 ms, settle 200 ms"; guide = "(figures)" }
                printf "| Binary Star failover (ms, kill the active to the first answer from the backup): bstarsrv, bstarcli | tcp | %s | %.0f | – | – | – | %s |\n", unit, median(a, m), guide
                continue
            }
            model = (p[1] == "fl2") ? "2 (shotgun): flclient2, flserver2" : "3 (router, flcliapi): flclient3, flserver3"
            if (p[1] == "fl2") guide = (p[3] == 1) ? "guide: about 60" : "guide: about 80"
            else guide = "(figures)"
            printf "| Freelance model %s (us per request, 10,000 requests) | tcp | %s servers | %.0f | – | – | – | %s |\n", model, p[3], median(a, m), guide
            continue
        }
        if (p[1] == "mdp" || p[1] == "lb" || p[1] == "async") {
            for (r = 1; r <= 2 * reps; r++) if ((key, "A", r) in v) a[++m] = v[key, "A", r]
            if (m == 0) continue
            if (p[1] == "mdp") name = "Majordomo (requests/s, 64 B, " p[4] " services): mdp::Broker, AsyncClient, Worker"
            else if (p[1] == "lb") name = "lbbroker binary (requests/s, 64 B): DEALER client, REQ echo workers"
            else name = "asyncsrv-proxy binary (requests/s, 64 B): DEALER client, DEALER echo workers"
            m2 = 0
            if (p[1] == "async") for (r = 1; r <= reps; r++) if ((key, "B", r) in v) b2[++m2] = v[key, "B", r]
            note = (m2 > 0) ? sprintf("(figures; the library'"'"'s Proxy in msgqueue, same harness: %.0f)", median(b2, m2)) : "(figures)"
            printf "| %s | tcp | %s workers | %.0f | – | – | – | %s |\n", name, p[3], median(a, m), note
            continue
        }
        if (p[1] ~ /^ir/) {
            # instructions per message, counted once: ratio to the C tools where they have the case
            if (!((key, "A", 1) in v)) continue
            ia = v[key, "A", 1]; ib = ((key, "B", 1) in v) ? v[key, "B", 1] : 0
            ic = ((key, "C", 1) in v) ? v[key, "C", 1] : 0
            if (p[1] == "ir1") { name = "instructions per message (callgrind), 1 frame: Frame vs send/recv vs C"; base = ic; target = "<= 1.05 of C" }
            else if (p[1] == "ir1msg") { name = "instructions per message (callgrind), 1 frame: Msg vs send/recv vs C"; base = ic; target = "<= 1.05 of C" }
            else { name = "instructions per message (callgrind), 2 frames: Msg vs send/recv per part"; base = ib; target = "<= 1.05 of plain zmq" }
            rq = base > 0 ? ia / base : 0
            printf "| %s | %s | %s B | %.0f | %s | %s | %s | %s %s |\n", name, p[2], p[3], ia, (ib ? sprintf("%.0f", ib) : "–"), (ic ? sprintf("%.0f", ic) : "–"), (base > 0 ? sprintf("%.3f", rq) : "–"), target, (base > 0 ? (rq <= 1.05 ? "met" : "**missed**") : "")
            continue
        }
        nc = 0
        for (r = 1; r <= 2 * reps; r++) if ((key, "C", r) in v) cc[++nc] = v[key, "C", r]
        for (r = 1; r <= 2 * reps; r++) {
            if (((key, "A", r) in v) && ((key, "B", r) in v) && v[key, "B", r] > 0) {
                a[++n] = v[key, "A", r]; b[n] = v[key, "B", r]
                q[n] = ((key, "R", r) in v) ? v[key, "R", r] : v[key, "A", r] / v[key, "B", r]
            }
        }
        if (n == 0) continue
        ma = median(a, n); mb = median(b, n); mq = median(q, n)
        cfig = (nc == 0) ? "–" : sprintf((p[1] == "lat") ? "%.1f" : "%.0f", median(cc, nc))
        if (p[1] == "thr1") { name = "throughput, 1 frame (msg/s): Frame vs send/recv"; target = ">= 0.97"; ok = mq >= 0.97 }
        else if (p[1] == "thr1msg") { name = "throughput, 1 frame (msg/s): Msg vs send/recv"; target = "(info)"; ok = -1 }
        else if (p[1] == "thr2") { name = "throughput, 2 frames (msg/s): Msg vs send_multipart/recv_multipart"; target = ">= 1.00"; ok = mq >= 1.0 }
        else if (p[1] == "lat") { name = "latency (us, one way): Frame vs send/recv"; target = "<= 1.03"; ok = mq <= 1.03 }
        else { name = p[1] " (round trips/s, 64 B): Proxy vs zmq_proxy"; target = ">= 0.95"; ok = mq >= 0.95 }
        unit = (p[1] ~ /^proxy/) ? p[3] " workers" : p[3] " B"
        fmt = (p[1] == "lat") ? "| %s | %s | %s | %.1f | %.1f | %s | %.3f | %s %s |\n" : "| %s | %s | %s | %.0f | %.0f | %s | %.3f | %s %s |\n"
        printf fmt, name, p[2], unit, ma, mb, cfig, mq, target, (ok == -1 ? "" : ok ? "met" : "**missed**")
    }
}' "$RESULTS" >"$TABLE"
if suite cbrokers; then
    if [ -n "${ZGUIDE:-}" ] && [ -n "${CZMQ:-}" ] && command -v valgrind >/dev/null; then
        CARGO="$CARGO" scripts/c-brokers.sh >>"$TABLE" || echo "scripts/c-brokers.sh failed: its rows are left out" >&2
    else
        echo "the brokers against the guide's C originals need ZGUIDE, CZMQ (a czmq v3.0.2 checkout) and valgrind: left out" >&2
    fi
fi
cat "$TABLE"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
    echo "<!-- bench:start -->"
    echo "Run of \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): ${cpu:-unknown CPU}, $(nproc) cores,"
    echo "$(rustc --version), libzmq 4.3.4 (vendored by the \`zmq\` crate),"
    echo "$REPS repetitions A B A B ..., release build. Ratios are the median of the per-repetition ratios"
    echo "zmq-patterns / plain zmq (for latency, lower is better); the libzmq C tools column is the median of"
    echo "libzmq's own perf tools, built from the same vendored source and \`libzmq.a\`. Instruction counts (callgrind,"
    echo "per message, all threads and both processes, N=$IR_N vs 2N, the least of $IR_RUNS) are taken once; their ratio is to the C tools."
    echo
    cat "$TABLE"
    echo "<!-- bench:end -->"
} >"$WORK/section"
if [ -f "$DOC" ] && grep -q "<!-- bench:start -->" "$DOC"; then
    awk -v section="$WORK/section" '
        /<!-- bench:start -->/ { while ((getline line < section) > 0) print line; skip = 1; next }
        /<!-- bench:end -->/ { skip = 0; next }
        !skip { print }' "$DOC" >"$WORK/doc"
    cp "$WORK/doc" "$DOC"
else
    { echo "# Benchmarks"; echo; cat "$WORK/section"; } >"$DOC"
fi
echo "written to $DOC"
