# Sourced by bench.sh and c-brokers.sh: instruction counts that start-up and tear-down do not blur.
#
# ir_least FN ARGS... -> the least, over IR_RUNS pairs of runs, of (I(2N) - I(N)) / N, where
# `FN N ARGS...` prints the instructions a run of N messages or requests took (IR_N is N). The
# difference cancels start-up and tear-down; the least, since how often a thread sleeps and is woken
# (a few thousand instructions each time) varies from run to run. Prints nothing if no pair ran.
ir_least() {
    local fn=$1 one two i best=""
    shift
    for i in $(seq 1 "$IR_RUNS"); do
        one=$("$fn" "$IR_N" "$@")
        two=$("$fn" $((2 * IR_N)) "$@")
        [ -n "$one" ] && [ -n "$two" ] || continue
        best=$(awk -v a="$one" -v b="$two" -v n="$IR_N" -v best="$best" \
            'BEGIN { x = (b - a) / n; if (best == "" || x < best) best = x; printf "%.0f", best }')
    done
    echo "$best"
}
