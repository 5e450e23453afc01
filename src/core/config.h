#pragma once
// What a run of the method is asked to do: which method, how many paths, segments, budgets.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/confidence.h"
#include "core/early_exit.h"
#include "core/router.h"

namespace leap {

enum class Method {
    Leap,         // untrained models: protocol instruction + prefilled acknowledgement
    LeapT,        // fine-tuned models: plain prompt; "<summarize>" also ends a segment
    Independent,  // baseline: plain prompt, no blocks
    Single,       // LeaP with a single enabled block (RunConfig::single_block)
    LeapS,        // LeaP-S: groups of group_size paths exchange one block (single_block), then
                  // one path per group continues to the budget; the others answer at once
    MixtureOfAgents,  // MoA baseline: moa_layers layers of independent paths; each later layer
                      // restarts every path from the previous layer's responses
};
Method parse_method(std::string_view s);

std::string_view to_string(Method m);

// How a later MoA layer hears the previous one (docs/method.md, "Mixture of Agents").
enum class MoaLayout {
    Leap,       // the tail of each response's reasoning, in the path's own text after the prompt
    Reference,  // the reference's: each response's text after its thinking, numbered, in a new
                // user message with the problem (a fresh conversation per layer)
};
MoaLayout parse_moa_layout(std::string_view s);
std::string_view to_string(MoaLayout l);

struct RunConfig {
    Method method = Method::Leap;
    int n_paths = 4;           // N
    int segment_tokens = 2048; // T
    int segments = 5;          // M (so M-1 blocks)
    int summary_tokens = 256;  // S
    int answer_tokens = 256;   // A: a forced answer's budget
    // The answer a path writes after ending its thinking by itself (an R1-style write-up, often
    // longer than A): its own budget; it stops at end-of-sequence.
    int write_up_tokens = 2048;
    int single_block = 0;      // Method::Single, LeapS: the one enabled block (0 = after segment 1)
    int group_size = 4;        // Method::LeapS: G paths per group (N must be a multiple of G)
    int moa_layers = 2;        // Method::MixtureOfAgents: layers (1 = independent sampling)
    int moa_context_chars = 2000;  // MoA: tail of each previous response's reasoning shown (0 = answers only)
    MoaLayout moa_layout = MoaLayout::Leap;
    RouterOptions router;      // kind, k, similarity (its seed is derived per block)
    // --parity reference: the reference implementation's behaviour wherever leap's differs
    // (docs/method.md, "Differences from the reference"): the trim and hybrid routing, a path that
    // ends its thinking stops there (no write-up), a forced answer stops only at an end marker,
    // </summarize> or end of sequence, and LeaP-T stops at <summarize> in every segment.
    bool reference_parity = false;
    // --blocks: the enabled blocks (0-based: block b follows segment b+1); empty: the method's
    // own (every block for leap and leap-t, single_block for single and leap-s).
    std::vector<int> blocks;
    uint64_t seed = 1;
    // Confidence-aware options (docs/adaptive.md; experimental, all off by default).
    ConfidenceOptions confidence;  // --confidence, --confidence-top-k, --confidence-window
    int early_exit_quorum = 0;     // --early-exit-quorum K: stop once K paths agree (0: off)
    double prune_share = 0;        // --prune-share F: at each block, stop the least confident F of the paths there
    PruneAt prune_at = PruneAt::Before;  // --prune-at
    // Token confidence is computed (asked of the backend) when recorded or used by an option.
    bool needs_confidence() const {
        return confidence.record || prune_share > 0 || router.kind == RouterKind::Confident ||
               router.kind == RouterKind::ConfidentDispersed;
    }

    // Block b sits between segment b and segment b+1 (0-based).
    bool block_enabled(int b) const;
    int enabled_blocks() const;  // how many blocks run
    bool uses_protocol_prompt() const {
        return method == Method::Leap || method == Method::Single || method == Method::LeapS;
    }
    // LeaP-S: the group of path i (groups are consecutive path indices).
    int group_of(int path) const { return group_size > 0 ? path / group_size : 0; }
    // Throws leap::Error naming the parameter when a value is impossible.
    void validate() const;
    void validate_adaptive() const;  // the confidence-aware options (core/early_exit.cpp)
};

// Compute-matched baseline (SPEC §6): the most tokens one problem of `leap` can take, and an
// independent-sampling config with at least that budget, by more paths or longer paths.
long token_budget(const RunConfig& c);
enum class BudgetMatch { Paths, Length };
BudgetMatch parse_budget_match(std::string_view s);
RunConfig equal_budget_independent(const RunConfig& leap, BudgetMatch how);

}  // namespace leap
