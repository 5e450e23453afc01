# Sourced by the viewer tests: nano_trace OUT writes the trace of one LeaP-T run of the nano model
# (assets/leap-nano.gguf) on a nano problem: 4 paths, 3 blocks, peers heard at each.
nano_trace() {
    "$LEAP" solve -m "$LEAP_SOURCE_DIR/assets/leap-nano.gguf" --method leap-t -N 4 -T 6 --segments 4 \
        --summary-tokens 6 --answer-tokens 4 --top-k 0 --top-p 1 --min-p 0 --temp 1 --peers 2 -t 1 --seed 1 \
        -p "Find x in 0..9 with 10 dividing 3x+3, then apply y to 3y+1 mod 10 3 times from x+1. Where do you end?" \
        --trace "$1" > "$1.out" 2>&1
}
