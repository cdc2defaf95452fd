#!/usr/bin/env bash
# Runs the Rust examples against the guide's own C and Python examples, at the C defaults' endpoints
# (tcp://*:5555 and friends), both ways round, and checks what the peers print.
#
#   scripts/interop.sh PATH-TO-ZGUIDE-CHECKOUT [SECTION...]
#
# SECTIONs (all by default): reqrep queue pipeline pubsub chapter3 chapter4 bstar freelance clone security
#
# Needs: a zguide checkout (git clone https://github.com/booksbyus/zguide), python3 (pyzmq is installed into a
# throw-away venv if missing; PYTHON=/path/to/python picks another interpreter), and for the C peers gcc with
# libzmq's headers (Debian: libzmq3-dev; C cases are skipped without them). Uses the default ports, so run it alone
# on the machine. The security section's CURVE cases link the Rust side to the system libzmq (Debian's
# libzmq3-dev, with libsodium) in target/curve, as the CURVE job of .ci/run; they are skipped without it.
set -u
ZGUIDE=${1:-${ZGUIDE:-}}
if [ -z "$ZGUIDE" ] || [ ! -d "$ZGUIDE/examples/Python" ]; then
    echo "usage: $0 PATH-TO-ZGUIDE-CHECKOUT" >&2
    exit 2
fi
ZGUIDE=$(cd "$ZGUIDE" && pwd)
shift $(($# > 0 ? 1 : 0))
SECTIONS=" $* "
# section KEY TITLE: whether to run the section KEY (all run when none is named), printing its title
section() {
    if [ "$SECTIONS" = "  " ] || [[ $SECTIONS == *" $1 "* ]]; then
        echo "== $2"
        return 0
    fi
    return 1
}
cd "$(dirname "$0")/.."
cargo build --release -q -p zguide-examples || exit 1
BIN=$PWD/target/release
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK" # ipc files and the like land here

PY=${PYTHON:-python3}
if ! $PY -c 'import zmq' 2>/dev/null; then
    python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q pyzmq tornado || exit 1
    PY=$WORK/venv/bin/python
fi
PYEX=$ZGUIDE/examples/Python

# The chapter 4 Binary Star and Freelance examples are Python 2. PY3 runs fixed copies from $PY3EX: print
# statements and xrange rewritten, and a sitecustomize that lets pyzmq take str where it wants bytes (sends,
# identities) and lets received frames compare equal to str literals (`command == "CONNECT"`). flcliapi.py also
# reads a PONG's control frame as a sequence number (int("PONG"): its agent thread dies at the first ping), and
# bstar.py passes its loop where today's tornado PeriodicCallback takes a jitter; those two lines are fixed too, and
# lvcache.py's connect to tcp://*:5557, which libzmq rejects, goes to tcp://localhost:5557, and clonecli5.py's
# key (str + bytes) and ttl property (an int) are made bytes.
# Nothing else changes.
PY3EX=$WORK/py3
mkdir -p "$PY3EX"
for f in zhelpers bstar bstarsrv bstarsrv2 bstarcli flserver1 flclient1 flserver2 flclient2 flserver3 flclient3 flcliapi \
    pathopub pathosub lvcache kvmsg clonesrv5 clonecli5 clonesrv6 clonecli6 clone; do
    sed -E -e 's/^([[:space:]]*)print (.*[^,])$/\1print(\2)/' -e 's/^([[:space:]]*)print (.*),$/\1print(\2, end="")/' \
        -e 's/\bxrange\b/range/g' -e 's/if int\(sequence\) == self.sequence:/if sequence != b"PONG" and int(sequence) == self.sequence:/' \
        -e 's/HEARTBEAT, self.loop\)/HEARTBEAT)/' -e 's/kvmsg.key = SUBTREE \+ b/kvmsg.key = SUBTREE.encode() + b/' \
        -e "s/kvmsg\\[b'ttl'\\] = random.randint\\(0,30\\)/kvmsg[b'ttl'] = b'%d' % random.randint(0,30)/" -e 's|frontend.connect\("tcp://\*:5557"\)|frontend.connect("tcp://localhost:5557")|' \
        "$PYEX/$f.py" >"$PY3EX/$f.py"
done
cat >"$PY3EX/sitecustomize.py" <<'PYEOF'
import zmq

def _b(x):
    return x.encode() if isinstance(x, str) else x

class Frame(bytes):
    """A received frame that also equals the str of its bytes, as in Python 2."""
    def __eq__(self, other):
        return bytes.__eq__(self, _b(other))
    def __ne__(self, other):
        return not self.__eq__(other)
    __hash__ = bytes.__hash__

_send, _send_multipart, _recv_multipart, _set = (
    zmq.Socket.send, zmq.Socket.send_multipart, zmq.Socket.recv_multipart, zmq.Socket.set)
zmq.Socket.send = lambda self, data, *a, **k: _send(self, _b(data), *a, **k)
zmq.Socket.send_multipart = lambda self, parts, *a, **k: _send_multipart(self, [_b(p) for p in parts], *a, **k)
zmq.Socket.recv_multipart = lambda self, *a, **k: [Frame(p) for p in _recv_multipart(self, *a, **k)]
zmq.Socket.set = lambda self, option, value: _set(self, option, _b(value))
zmq.Socket.setsockopt = zmq.Socket.set
_connect = zmq.Socket.connect
zmq.Socket.connect = lambda self, addr: _connect(self, addr.decode() if isinstance(addr, bytes) else addr)
PYEOF
PY3="env PYTHONPATH=$PY3EX $PY -u"

HAVE_C=0
if command -v gcc >/dev/null && [ -f /usr/include/zmq.h ]; then HAVE_C=1; fi
# c NAME: compiles the guide's examples/C/NAME.c (chapters 1-2 need only libzmq and zhelpers.h)
c() {
    local out=$WORK/c-$1
    [ -x "$out" ] || gcc -O2 -w -I"$ZGUIDE/examples/C" -o "$out" "$ZGUIDE/examples/C/$1.c" -lzmq -lpthread || return 1
    echo "$out"
}

pass=0
fail=0
skip=0
# case NAME EXPECTED-COUNT PATTERN LOGFILE: counts lines matching PATTERN in LOGFILE
result() {
    local name=$1 want=$2 pattern=$3 log=$4
    local got
    got=$(grep -cE -- "$pattern" "$log" 2>/dev/null)
    if [ "${got:-0}" -ge "$want" ]; then
        echo "PASS  $name ($got × /$pattern/)"
        pass=$((pass + 1))
    else
        echo "FAIL  $name: wanted $want lines matching /$pattern/, got ${got:-0}; log:"
        sed 's/^/      /' "$log" | tail -n 15
        fail=$((fail + 1))
    fi
}
# absent NAME PATTERN LOGFILE: passes if no line of LOGFILE matches PATTERN
absent() {
    local name=$1 pattern=$2 log=$3
    if grep -qE -- "$pattern" "$log" 2>/dev/null; then
        echo "FAIL  $name: lines matching /$pattern/:"
        grep -E -- "$pattern" "$log" | sed 's/^/      /' | tail -n 15
        fail=$((fail + 1))
    else
        echo "PASS  $name (no /$pattern/)"
        pass=$((pass + 1))
    fi
}
stop_all() {
    kill $(jobs -p) 2>/dev/null
    wait 2>/dev/null
    sleep 0.3
}
need_c() {
    if [ $HAVE_C = 0 ]; then
        echo "SKIP  $1 (no gcc/libzmq headers)"
        skip=$((skip + 1))
        return 1
    fi
}

if section reqrep "request-reply"; then
"$BIN/hwserver" --work-ms 100 >"$WORK/srv" &
timeout 30 $PY "$PYEX/hwclient.py" >"$WORK/log"
result "Python hwclient -> Rust hwserver" 10 "Received reply [0-9] \[ b'World' \]" "$WORK/log"
stop_all

$PY "$PYEX/hwserver.py" >"$WORK/srv" &
timeout 30 "$BIN/hwclient" --requests 3 >"$WORK/log"
result "Rust hwclient -> Python hwserver" 3 "^Received World [0-9]" "$WORK/log"
stop_all

if need_c "C hwclient -> Rust hwserver"; then
    "$BIN/hwserver" --work-ms 100 >"$WORK/srv" &
    timeout 30 "$(c hwclient)" >"$WORK/log"
    result "C hwclient -> Rust hwserver" 10 "^Received World [0-9]" "$WORK/log"
    stop_all
fi
if need_c "Rust hwclient -> C hwserver"; then
    "$(c hwserver)" >"$WORK/srv" &
    timeout 30 "$BIN/hwclient" --requests 3 >"$WORK/log"
    result "Rust hwclient -> C hwserver" 3 "^Received World [0-9]" "$WORK/log"
    stop_all
fi

"$BIN/mtserver" >"$WORK/srv" &
timeout 30 $PY "$PYEX/hwclient.py" >"$WORK/log"
result "Python hwclient -> Rust mtserver" 10 "Received reply [0-9] \[ b'World' \]" "$WORK/log"
stop_all

fi

if section queue "shared queue"; then
"$BIN/rrbroker" &
$PY "$PYEX/rrworker.py" >"$WORK/w1" &
timeout 30 $PY "$PYEX/rrclient.py" >"$WORK/log"
result "Python rrclient -> Rust rrbroker -> Python rrworker" 10 "Received reply [0-9]+ \[b'World'\]" "$WORK/log"
stop_all

$PY "$PYEX/rrbroker.py" &
"$BIN/rrworker" --work-ms 10 >"$WORK/w1" &
timeout 30 "$BIN/rrclient" >"$WORK/log"
result "Rust rrclient -> Python rrbroker -> Rust rrworker" 10 "^Received reply [0-9]+ \[World\]" "$WORK/log"
stop_all

"$BIN/msgqueue" &
$PY "$PYEX/rrworker.py" >"$WORK/w1" &
"$BIN/rrworker" --work-ms 10 >"$WORK/w2" &
timeout 30 $PY "$PYEX/rrclient.py" >"$WORK/log"
result "Python rrclient -> Rust msgqueue -> Rust and Python rrworkers" 10 "Received reply [0-9]+ \[b'World'\]" "$WORK/log"
stop_all

if need_c "C rrclient -> Rust rrbroker -> C rrworker"; then
    "$BIN/rrbroker" &
    "$(c rrworker)" >"$WORK/w1" &
    timeout 30 "$(c rrclient)" >"$WORK/log"
    result "C rrclient -> Rust rrbroker -> C rrworker" 10 "^Received reply [0-9]+ \[World\]" "$WORK/log"
    stop_all
fi

fi

if section pipeline "pipeline"; then
"$BIN/tasksink" >"$WORK/log" &
sink=$!
"$BIN/taskwork" >"$WORK/w1" &
$PY "$PYEX/taskwork.py" >"$WORK/w2" &
sleep 1
(echo | timeout 30 $PY "$PYEX/taskvent.py" >"$WORK/vent")
timeout 30 tail --pid=$sink -f /dev/null
result "Python taskvent -> Rust and Python taskwork -> Rust tasksink" 1 "Total elapsed time: [0-9]+ msec" "$WORK/log"
stop_all

$PY "$PYEX/tasksink.py" >"$WORK/log" &
sink=$!
"$BIN/taskwork" >"$WORK/w1" &
"$BIN/taskwork" >"$WORK/w2" &
sleep 1
(echo | timeout 30 "$BIN/taskvent" >"$WORK/vent")
timeout 30 tail --pid=$sink -f /dev/null
result "Rust taskvent -> Rust taskwork -> Python tasksink" 1 "Total elapsed time: [0-9.]+ msec" "$WORK/log"
stop_all

fi

if section pubsub "publish-subscribe"; then
"$BIN/wuserver" &
timeout 60 $PY "$PYEX/wuclient.py" >"$WORK/log"
result "Python wuclient <- Rust wuserver" 1 "Average temperature for zipcode '10001' was" "$WORK/log"
stop_all

$PY "$PYEX/wuserver.py" &
timeout 60 "$BIN/wuclient" 1 >"$WORK/log"
result "Rust wuclient <- Python wuserver" 1 "^Average temperature for zipcode '1' was -?[0-9]+F" "$WORK/log"
stop_all

if need_c "C wuclient <- Rust wuserver"; then
    "$BIN/wuserver" &
    timeout 60 "$(c wuclient)" >"$WORK/log"
    result "C wuclient <- Rust wuserver" 1 "^Average temperature for zipcode '10001 ' was -?[0-9]+F" "$WORK/log"
    stop_all
fi

"$BIN/psenvpub" &
timeout 4 $PY "$PYEX/psenvsub.py" >"$WORK/log"
result "Python psenvsub <- Rust psenvpub" 2 "^\[b'B'\] b'We would like to see this'" "$WORK/log"
stop_all

$PY "$PYEX/psenvpub.py" &
timeout 4 "$BIN/psenvsub" >"$WORK/log"
result "Rust psenvsub <- Python psenvpub" 2 "^\[B\] We would like to see this$" "$WORK/log"
stop_all

"$BIN/syncpub" --updates 100000 >"$WORK/pub" &
pub=$!
subs=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    $PY "$PYEX/syncsub.py" >"$WORK/sub$i" &
    subs="$subs $!"
done
timeout 90 tail --pid=$pub -f /dev/null
for s in $subs; do timeout 30 tail --pid=$s -f /dev/null; done
cat "$WORK"/sub* >"$WORK/log"
result "10 Python syncsub <- Rust syncpub" 10 "^Received 100000 updates" "$WORK/log"
stop_all
rm -f "$WORK"/sub*

$PY "$PYEX/syncpub.py" >"$WORK/pub" &
pub=$!
subs=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    "$BIN/syncsub" >"$WORK/sub$i" &
    subs="$subs $!"
done
timeout 90 tail --pid=$pub -f /dev/null
for s in $subs; do timeout 30 tail --pid=$s -f /dev/null; done
cat "$WORK"/sub* >"$WORK/log"
result "10 Rust syncsub <- Python syncpub" 10 "^Received 1000000 updates$" "$WORK/log"
stop_all

fi

if section chapter3 "advanced request-reply (chapter 3)"; then
# peering1.py publishes only after a whole second without input (the C original's bug, which the Rust one
# fixes), so the Rust peer talks every 2.5 s to leave it room; and it sends its endpoint where the C sends its name.
"$BIN/peering1" DC1 DC2 --interval-ms 2500 >"$WORK/log" &
$PY -u "$PYEX/peering1.py" DC2 DC1 >"$WORK/log2" &
sleep 8
stop_all
result "Rust peering1 DC1 <- Python peering1 DC2 (ipc, same directory)" 2 "^ipc://DC2-state.ipc - [0-9] workers free$" "$WORK/log"
result "Python peering1 DC2 <- Rust peering1 DC1" 2 "^DC2 Received: \[b'DC1', b'[0-9]'\]$" "$WORK/log2"

# The guide's asyncsrv.py runs its own server and clients in one process; with the Rust asyncsrv's server
# already bound to tcp://*:5570 its server thread fails to bind (a traceback on stderr, expected) and its
# clients talk to the Rust server, unchanged.
"$BIN/asyncsrv" --clients 0 --duration-ms 8000 >"$WORK/srv" &
sleep 0.5
timeout 5 $PY -u "$PYEX/asyncsrv.py" >"$WORK/log" 2>"$WORK/err"
result "Python asyncsrv clients -> Rust asyncsrv server (each request echoed 0-4 times)" 3 "^Client worker-[0-2] received: b'request #[0-9]+'$" "$WORK/log"
stop_all

fi

if section chapter4 "reliable request-reply (chapter 4)"; then
# lpclient.py sends for ever: it runs for a few seconds
"$BIN/lpserver" --reliable --work-ms 100 >"$WORK/srv" &
timeout 4 $PY "$PYEX/lpclient.py" >"$WORK/log" 2>&1
result "Python lpclient -> Rust lpserver" 10 "^INFO: Server replied OK \(b'[0-9]+'\)$" "$WORK/log"
stop_all

"$BIN/ppqueue" >"$WORK/queue" &
"$BIN/ppworker" --reliable --work-ms 100 >"$WORK/w1" &
"$BIN/ppworker" --reliable --work-ms 100 >"$WORK/w2" &
timeout 4 $PY "$PYEX/lpclient.py" >"$WORK/log" 2>&1
result "Python lpclient -> Rust ppqueue -> Rust ppworkers" 10 "^INFO: Server replied OK \(b'[0-9]+'\)$" "$WORK/log"
stop_all

$PY -u "$PYEX/ppqueue.py" >"$WORK/queue" &
"$BIN/ppworker" --reliable --work-ms 100 >"$WORK/w1" &
"$BIN/ppworker" --reliable --work-ms 100 >"$WORK/w2" &
sleep 1
timeout 30 "$BIN/lpclient" --requests 30 >"$WORK/log"
result "Rust lpclient -> Python ppqueue -> Rust ppworkers" 30 "^I: server replied OK \([0-9]+\)$" "$WORK/log"
stop_all
cat "$WORK/queue" "$WORK/w1" "$WORK/w2" >"$WORK/log"
absent "Python ppqueue and Rust ppworkers keep each other (heartbeats)" "Invalid message|expired|heartbeat failure" "$WORK/log"

if need_c "Rust lpclient -> C lpserver"; then
    # the C server is reliable for its first three requests
    "$(c lpserver)" >"$WORK/srv" &
    timeout 30 "$BIN/lpclient" --requests 3 >"$WORK/log"
    result "Rust lpclient -> C lpserver" 3 "^I: server replied OK \([0-9]+\)$" "$WORK/log"
    stop_all
fi

# the Python Majordomo clients take no arguments: 100,000 requests each
"$BIN/mdbroker" >"$WORK/srv" &
"$BIN/mdworker" >"$WORK/w1" &
timeout 120 $PY "$PYEX/mdclient.py" >"$WORK/log"
result "Python mdclient -> Rust mdbroker -> Rust mdworker" 1 "^100000 requests/replies processed$" "$WORK/log"
timeout 120 $PY "$PYEX/mdclient2.py" >"$WORK/log"
result "Python mdclient2 -> Rust mdbroker -> Rust mdworker" 1 "^100000 requests/replies processed$" "$WORK/log"
stop_all

$PY "$PYEX/mdbroker.py" >"$WORK/srv" 2>&1 &
$PY "$PYEX/mdworker.py" >"$WORK/w1" &
sleep 1
timeout 60 "$BIN/mdclient" --requests 10000 >"$WORK/log"
result "Rust mdclient -> Python mdbroker -> Python mdworker" 1 "^10000 requests/replies processed$" "$WORK/log"
stop_all

$PY "$PYEX/mdbroker.py" >"$WORK/srv" 2>&1 &
"$BIN/mdworker" >"$WORK/w1" &
sleep 1
timeout 60 "$BIN/mdclient2" --requests 10000 >"$WORK/log"
result "Rust mdclient2 -> Python mdbroker -> Rust mdworker" 1 "^10000 replies received$" "$WORK/log"
timeout 30 "$BIN/mmiecho" >"$WORK/log"
result "Rust mmiecho -> Python mdbroker (mmi.service)" 1 "^Lookup echo service: 200$" "$WORK/log"
stop_all

rm -rf .titanic
"$BIN/mdbroker" >"$WORK/srv" &
"$BIN/titanic" >"$WORK/titanic" 2>&1 &
"$BIN/mdworker" >"$WORK/w1" &
sleep 1
timeout 30 $PY "$PYEX/ticlient.py" >"$WORK/log"
result "Python ticlient -> Rust titanic -> Rust mdbroker -> Rust mdworker" 1 "^I: reply: b'Hello world'$" "$WORK/log"
ls .titanic >"$WORK/log"
absent "Python ticlient's close empties the Rust titanic's store" "." "$WORK/log"
stop_all

rm -rf .titanic
"$BIN/mdbroker" >"$WORK/srv" &
"$BIN/titanic" >"$WORK/titanic" 2>&1 &
sleep 1
timeout 30 $PY "$PYEX/ticlient.py" >"$WORK/log" &
client=$!
sleep 1 # the request is stored; the echo worker comes later
"$BIN/mdworker" >"$WORK/w1" &
timeout 30 tail --pid=$client -f /dev/null
result "Python ticlient waits (Rust titanic, no worker yet)" 1 "^I: no reply yet, trying again...$" "$WORK/log"
result "Python ticlient gets its reply once a Rust mdworker comes" 1 "^I: reply: b'Hello world'$" "$WORK/log"
stop_all

rm -rf .titanic
"$BIN/mdbroker" >"$WORK/srv" &
"$BIN/mdworker" >"$WORK/w1" &
$PY -u "$PYEX/titanic.py" >"$WORK/titanic" &
sleep 1
timeout 30 "$BIN/ticlient" >"$WORK/log"
result "Rust ticlient -> Python titanic -> Rust mdbroker -> Rust mdworker" 1 "^Reply: Hello world$" "$WORK/log"
stop_all
rm -rf .titanic
fi

if section bstar "Binary Star (chapter 4)"; then
# Each pair is one Rust and one Python server; the client fails over when its server is killed
"$BIN/bstarsrv" -p >"$WORK/primary" &
primary=$!
$PY3 "$PY3EX/bstarsrv.py" -b >"$WORK/backup" &
timeout 30 "$BIN/bstarcli" --requests 6 >"$WORK/log" &
client=$!
sleep 4
kill $primary
timeout 40 tail --pid=$client -f /dev/null
result "Rust bstarsrv -p and Python bstarsrv.py -b pair up" 1 "^I: connected to backup \(passive\), ready active$" "$WORK/primary"
result "Rust bstarcli -> the pair, fails over to the Python backup" 1 "^W: no response from server, failing over$" "$WORK/log"
result "Rust bstarcli gets all 6 answers, through the failover" 1 "^I: server replied OK \(5\)$" "$WORK/log"
tac "$WORK/log" | sed '/connecting to server at tcp:\/\/localhost:5002/q' | tac >"$WORK/after"
result "Rust bstarcli: the Python backup answers once the primary is gone" 1 "^I: server replied OK \(5\)$" "$WORK/after"
stop_all

$PY3 "$PY3EX/bstarsrv.py" -p >"$WORK/primary" &
primary=$!
"$BIN/bstarsrv2" -b >"$WORK/backup" &
$PY3 "$PY3EX/bstarcli.py" >"$WORK/log" &
sleep 4
kill $primary
sleep 8
stop_all
result "Python bstarsrv.py -p and Rust bstarsrv2 -b pair up" 1 "I: connected to primary \(active\), ready passive$" "$WORK/backup"
result "Rust bstarsrv2 takes over on the Python client's vote" 1 "I: failover successful, ready active$" "$WORK/backup"
result "Python bstarcli gets answers before and after the failover" 6 "^I: server replied OK \([0-9]+\)$" "$WORK/log"

$PY3 "$PY3EX/bstarsrv2.py" -p >"$WORK/primary" 2>&1 &
"$BIN/bstarsrv" -b >"$WORK/backup" &
timeout 30 "$BIN/bstarcli" --requests 3 >"$WORK/log"
stop_all
result "Python bstarsrv2.py -p (bstar reactor) and Rust bstarsrv -b pair up" 1 "^I: connected to primary \(active\), ready passive$" "$WORK/backup"
result "Rust bstarcli -> Python bstarsrv2.py" 1 "^I: server replied OK \(2\)$" "$WORK/log"
fi

if section freelance "Freelance (chapter 4)"; then
"$BIN/flserver1" tcp://*:5555 >"$WORK/srv" &
timeout 10 $PY3 "$PY3EX/flclient1.py" tcp://localhost:5555 >"$WORK/log"
result "Python flclient1 -> Rust flserver1" 1 "^Service is running OK$" "$WORK/log"
stop_all

$PY3 "$PY3EX/flserver1.py" tcp://*:5555 >"$WORK/srv" &
timeout 10 "$BIN/flclient1" tcp://localhost:5556 tcp://localhost:5555 >"$WORK/log"
result "Rust flclient1 -> (nobody, then) Python flserver1" 1 "^Service is running OK$" "$WORK/log"
stop_all

"$BIN/flserver2" tcp://*:5555 >"$WORK/srv1" &
"$BIN/flserver2" tcp://*:5556 >"$WORK/srv2" &
timeout 60 $PY3 "$PY3EX/flclient2.py" tcp://localhost:5555 tcp://localhost:5556 >"$WORK/log"
result "Python flclient2 -> two Rust flserver2 (shotgun)" 1 "^Average round trip cost: [0-9]+ usec$" "$WORK/log"
stop_all

$PY3 "$PY3EX/flserver2.py" tcp://*:5555 >"$WORK/srv1" &
$PY3 "$PY3EX/flserver2.py" tcp://*:5556 >"$WORK/srv2" &
sleep 1
timeout 60 "$BIN/flclient2" tcp://localhost:5555 tcp://localhost:5556 >"$WORK/log"
result "Rust flclient2 -> two Python flserver2 (shotgun)" 1 "^Average round trip cost: [0-9]+ usec$" "$WORK/log"
stop_all

"$BIN/flserver3" --bind tcp://*:5555 >"$WORK/srv1" &
"$BIN/flserver3" --bind tcp://*:5556 >"$WORK/srv2" &
"$BIN/flserver3" --bind tcp://*:5557 >"$WORK/srv3" &
timeout 60 $PY3 "$PY3EX/flclient3.py" >"$WORK/log"
result "Python flclient3 (flcliapi) -> three Rust flserver3" 1 "^Average round trip cost: [0-9]+ usec$" "$WORK/log"
stop_all

# flserver3.py binds tcp://*:5555 only
$PY3 "$PY3EX/flserver3.py" >"$WORK/srv1" &
sleep 1
timeout 60 "$BIN/flclient3" --connect tcp://localhost:5555 >"$WORK/log"
result "Rust flclient3 -> Python flserver3" 1 "^Average round trip cost: [0-9]+ usec$" "$WORK/log"
stop_all
fi

if section clone "advanced publish-subscribe and Clone (chapter 5)"; then
# The last value cache between a publisher that sends each topic once and a subscriber that joins late
"$BIN/lvcache" >"$WORK/cache" &
$PY3 "$PY3EX/pathopub.py" tcp://*:5557 >"$WORK/pub" &
sleep 3 # pathopub sends its 1,000 topics a second after it starts
timeout 3 $PY3 "$PY3EX/pathosub.py" tcp://localhost:5558 >"$WORK/log"
stop_all
result "Python pathopub -> Rust lvcache -> late Python pathosub: the cached value at once" 1 "Save Roger" "$WORK/log"

$PY3 "$PY3EX/lvcache.py" >"$WORK/cache" &
"$BIN/pathopub" tcp://*:5557 >"$WORK/pub" &
sleep 3
timeout 3 "$BIN/pathosub" tcp://localhost:5558 >"$WORK/log"
stop_all
result "Rust pathopub -> Python lvcache -> late Rust pathosub: the cached value at once" 1 "Save Roger" "$WORK/log"

# Clone model five: ephemeral values through the server, both ways round
"$BIN/clonesrv5" >"$WORK/srv" &
sleep 0.5
timeout 5 $PY3 "$PY3EX/clonecli5.py" >"$WORK/log" 2>&1
stop_all
result "Python clonecli5 -> Rust clonesrv5: the server numbers the client's updates" 3 "I: publishing update=[0-9]+$" "$WORK/srv"
result "Python clonecli5 <- Rust clonesrv5: snapshot, then its own updates back" 3 "^I: received update=[0-9]+$" "$WORK/log"

$PY3 "$PY3EX/clonesrv5.py" >"$WORK/srv" 2>&1 &
sleep 1
timeout 5 "$BIN/clonecli5" --interval-ms 200 >"$WORK/log"
stop_all
result "Rust clonecli5 -> Python clonesrv5: the server numbers the client's updates" 10 "I: publishing update=[0-9]+$" "$WORK/srv"
result "Rust clonecli5 <- Python clonesrv5: snapshot, then its own updates back" 1 "^I: received snapshot=[0-9]+$" "$WORK/log"
result "Rust clonecli5 <- Python clonesrv5: updates" 10 "^I: received update=[0-9]+$" "$WORK/log"

# Clone model six: a Binary Star pair of servers; the client fails over when the primary is killed. The client
# starts once the pair has settled (a Binary Star server ignores a request until it knows its role, and a clone
# client asks each server once before it moves on), and after the kill it has its 5 s of silence to notice.
"$BIN/clonesrv6" -p >"$WORK/primary" &
primary=$!
"$BIN/clonesrv6" -b >"$WORK/backup" &
sleep 3
$PY3 "$PY3EX/clonecli6.py" >"$WORK/log" 2>&1 &
sleep 4
kill $primary
sleep 10
stop_all
result "Python clonecli6 (clone.py) -> Rust clonesrv6 pair: snapshot from the primary" 1 "I: received from .*5556 snapshot=[0-9]+" "$WORK/log"
result "Python clonecli6 -> Rust clonesrv6: the primary publishes the client's sets" 2 "I: publishing update=[0-9]+$" "$WORK/primary"
result "Python clonecli6: no HUGZ from the killed primary" 1 "I: server at .*5556 didn't give (hugz|HUGZ)" "$WORK/log"
result "Python clonecli6 -> Rust clonesrv6 backup: snapshot after the failover" 1 "I: received from .*5566 snapshot=[0-9]+" "$WORK/log"
result "Rust clonesrv6 backup publishes the client's sets once active" 1 "I: publishing (update|pending)=[0-9]+$" "$WORK/backup"

$PY3 "$PY3EX/clonesrv6.py" -p >"$WORK/primary" 2>&1 &
primary=$!
$PY3 "$PY3EX/clonesrv6.py" -b >"$WORK/backup" 2>&1 &
sleep 3
"$BIN/clonecli6" --interval-ms 500 >"$WORK/log" &
sleep 4
kill $primary
sleep 10
stop_all
result "Rust clonecli6 -> Python clonesrv6 pair: snapshot from the primary" 1 "I: received from .*5556 snapshot=[0-9]+" "$WORK/log"
result "Rust clonecli6 -> Python clonesrv6: the primary publishes the client's sets" 2 "I: publishing update=[0-9]+$" "$WORK/primary"
result "Rust clonecli6: no HUGZ from the killed primary" 1 "I: server at .*5556 didn't give HUGZ" "$WORK/log"
result "Rust clonecli6 -> Python clonesrv6 backup: snapshot after the failover" 1 "I: received from .*5566 snapshot=[0-9]+" "$WORK/log"
result "Python clonesrv6 backup publishes the client's sets once active" 1 "I: publishing (update|pending)=[0-9]+$" "$WORK/backup"
fi

if section security "security: PLAIN and CURVE with pyzmq's ThreadAuthenticator (CZMQ's examples/security)"; then
# Small pyzmq peers, written here: a PULL client that waits for one message, and a PUSH server with a
# ThreadAuthenticator that sends Hello to the first client that passes. The Rust side is woodhouse or ironhouse
# with --role server or --role client.
cat >"$WORK/sec_client.py" <<'PYEOF'
import sys, zmq
# sec_client.py ENDPOINT plain USER PASSWORD | ENDPOINT curve SERVER_PUBLIC_CERT CLIENT_CERT
endpoint, mech = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.linger = 0
if mech == "plain":
    s.plain_username, s.plain_password = sys.argv[3].encode(), sys.argv[4].encode()
else:
    import zmq.auth
    s.curve_serverkey = zmq.auth.load_certificate(sys.argv[3])[0]
    s.curve_publickey, s.curve_secretkey = zmq.auth.load_certificate(sys.argv[4] + "_secret")
s.connect(endpoint)
if s.poll(5000):
    print("pyzmq client received " + s.recv_string(), flush=True)
else:
    print("pyzmq client received nothing", flush=True)
PYEOF
cat >"$WORK/sec_server.py" <<'PYEOF'
import glob, sys, time, zmq, zmq.auth
from zmq.auth.thread import ThreadAuthenticator
# sec_server.py ENDPOINT plain | ENDPOINT curve SERVER_CERT CLIENTS_DIR
endpoint, mech = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
auth = ThreadAuthenticator(ctx)
auth.start()
auth.allow("127.0.0.1")
s = ctx.socket(zmq.PUSH)
if mech == "plain":
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    s.plain_server = True
else:
    class Dir:
        """Admits the public keys of the certificate files in a directory, read at each request (the
        Rust client saves its certificate there after this server starts)."""
        def callback(self, domain, key):
            return any(zmq.auth.load_certificate(f)[0] == key
                       for f in glob.glob(sys.argv[4] + "/*") if not f.endswith("_secret"))
    auth.configure_curve_callback(domain="*", credentials_provider=Dir())
    s.curve_publickey, s.curve_secretkey = zmq.auth.load_certificate(sys.argv[3] + "_secret")
    s.curve_server = True
s.sndtimeo = 8000
s.bind(endpoint)
print("pyzmq server ready", flush=True)
try:
    s.send_string("Hello")
    print("pyzmq server sent Hello", flush=True)
    time.sleep(0.5)
except zmq.Again:
    print("pyzmq server: no client passed", flush=True)
s.close(linger=1000)
auth.stop()
PYEOF
EP=tcp://127.0.0.1:9000

# PLAIN: the vendored libzmq of the release build has it
"$BIN/woodhouse" --role server --bind "$EP" >"$WORK/srv" 2>&1 &
sleep 0.5
timeout 10 $PY "$WORK/sec_client.py" "$EP" plain admin secret >"$WORK/log"
stop_all
result "pyzmq PLAIN client -> Rust woodhouse server (admin/secret): Hello" 1 "^pyzmq client received Hello$" "$WORK/log"
result "Rust woodhouse server: sent Hello to the pyzmq client" 1 "^Woodhouse: sent Hello$" "$WORK/srv"

"$BIN/woodhouse" --role server --bind "$EP" >"$WORK/srv" 2>&1 &
sleep 0.5
timeout 10 $PY "$WORK/sec_client.py" "$EP" plain admin guess >"$WORK/log"
stop_all
result "pyzmq PLAIN client with a wrong password -> Rust woodhouse server: nothing" 1 "^pyzmq client received nothing$" "$WORK/log"
result "Rust woodhouse server: refused the pyzmq client" 1 "refused by the server \\(ZAP status 400\\)" "$WORK/srv"

$PY "$WORK/sec_server.py" "$EP" plain >"$WORK/srv" 2>&1 &
sleep 1
timeout 10 "$BIN/woodhouse" --role client --connect "$EP" >"$WORK/log" 2>&1
stop_all
result "Rust woodhouse client -> pyzmq ThreadAuthenticator PLAIN server: Hello" 1 "^Woodhouse test OK$" "$WORK/log"

$PY "$WORK/sec_server.py" "$EP" plain >"$WORK/srv" 2>&1 &
sleep 1
timeout 10 "$BIN/woodhouse" --role client --connect "$EP" --password guess --timeout-ms 1500 >"$WORK/log" 2>&1
stop_all
result "Rust woodhouse client with a wrong password -> pyzmq PLAIN server: refused" 1 "^error: user admin: nothing arrived" "$WORK/log"
absent "Rust woodhouse client with a wrong password: no Hello" "^Woodhouse test OK$" "$WORK/log"

# CURVE: the Rust side linked to the system libzmq (with libsodium), in a target directory of its own
REPO=${BIN%/target/release}
LIBZMQ=$(gcc -print-file-name=libzmq.so 2>/dev/null)
if [ -z "$LIBZMQ" ] || [ "$LIBZMQ" = libzmq.so ]; then
    echo "SKIP  CURVE cases (no system libzmq.so; Debian: libzmq3-dev)"
    skip=$((skip + 1))
else
    host=$(rustc -vV | sed -n 's/^host: //p')
    (cd "$REPO" && cargo build -q --locked --target-dir target/curve \
        --config "target.$host.zmq.rustc-link-lib=[\"zmq\"]" \
        --config "target.$host.zmq.rustc-link-search=[\"$(dirname "$LIBZMQ")\"]" \
        -p zguide-examples --bin ironhouse) || exit 1
    CBIN=$REPO/target/curve/debug
    # Certificates made by pyzmq (zmq.auth.create_certificates: NAME.key and NAME.key_secret, ZPL as CZMQ's)
    mkdir -p "$WORK/curve/clients" "$WORK/curve/other" "$WORK/curve/rust-clients"
    $PY -c 'import sys, zmq.auth
zmq.auth.create_certificates(sys.argv[1] + "/curve", "server")
zmq.auth.create_certificates(sys.argv[1] + "/curve/clients", "client")
zmq.auth.create_certificates(sys.argv[1] + "/curve/other", "stranger")' "$WORK"

    "$CBIN/ironhouse" --role server --bind "$EP" --server-cert "$WORK/curve/server.key" \
        --certs "$WORK/curve/clients" >"$WORK/srv" 2>&1 &
    sleep 0.5
    timeout 10 $PY "$WORK/sec_client.py" "$EP" curve "$WORK/curve/server.key" "$WORK/curve/clients/client.key" >"$WORK/log"
    stop_all
    result "pyzmq CURVE client (its certificate in the server's directory) -> Rust ironhouse server: Hello" 1 "^pyzmq client received Hello$" "$WORK/log"
    result "Rust ironhouse server: sent Hello to the pyzmq client" 1 "^Ironhouse: sent Hello$" "$WORK/srv"

    "$CBIN/ironhouse" --role server --bind "$EP" --server-cert "$WORK/curve/server.key" \
        --certs "$WORK/curve/clients" >"$WORK/srv" 2>&1 &
    sleep 0.5
    timeout 10 $PY "$WORK/sec_client.py" "$EP" curve "$WORK/curve/server.key" "$WORK/curve/other/stranger.key" >"$WORK/log"
    stop_all
    result "pyzmq CURVE client with an unknown certificate -> Rust ironhouse server: nothing" 1 "^pyzmq client received nothing$" "$WORK/log"
    result "Rust ironhouse server: refused the unknown pyzmq client" 1 "refused by the server \\(ZAP status 400\\)" "$WORK/srv"

    $PY "$WORK/sec_server.py" "$EP" curve "$WORK/curve/server.key" "$WORK/curve/rust-clients" >"$WORK/srv" 2>&1 &
    sleep 1
    timeout 10 "$CBIN/ironhouse" --role client --connect "$EP" --server-cert "$WORK/curve/server.key" \
        --certs "$WORK/curve/rust-clients" >"$WORK/log" 2>&1
    stop_all
    result "Rust ironhouse client -> pyzmq ThreadAuthenticator CURVE server (its certificate read there): Hello" 1 "^Ironhouse test OK$" "$WORK/log"

    $PY "$WORK/sec_server.py" "$EP" curve "$WORK/curve/server.key" "$WORK/curve/other" >"$WORK/srv" 2>&1 &
    sleep 1
    timeout 10 "$CBIN/ironhouse" --role client --connect "$EP" --server-cert "$WORK/curve/server.key" \
        --certs "$WORK/curve/rust-clients" --timeout-ms 1500 >"$WORK/log" 2>&1
    stop_all
    result "Rust ironhouse client not in the pyzmq server's directory: refused" 1 "^error: nothing arrived" "$WORK/log"
fi
fi

echo
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
