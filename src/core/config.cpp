#include "core/config.h"

#include <algorithm>

#include <string>

#include "core/error.h"

namespace leap {

Method parse_method(std::string_view s) {
    if (s == "leap") return Method::Leap;
    if (s == "leap-t") return Method::LeapT;
    if (s == "independent") return Method::Independent;
    if (s == "single") return Method::Single;
    if (s == "leap-s") return Method::LeapS;
    if (s == "moa") return Method::MixtureOfAgents;
    throw Error("unknown method '" + std::string(s) + "' (choose leap, leap-t, independent, single, leap-s, moa)");
}

std::string_view to_string(Method m) {
    switch (m) {
        case Method::Leap: return "leap";
        case Method::LeapT: return "leap-t";
        case Method::Independent: return "independent";
        case Method::Single: return "single";
        case Method::LeapS: return "leap-s";
        case Method::MixtureOfAgents: return "moa";
    }
    return "?";
}

MoaLayout parse_moa_layout(std::string_view s) {
    if (s == "leap") return MoaLayout::Leap;
    if (s == "reference") return MoaLayout::Reference;
    throw Error("unknown MoA layout '" + std::string(s) + "' (choose leap or reference)");
}

std::string_view to_string(MoaLayout l) { return l == MoaLayout::Reference ? "reference" : "leap"; }

bool RunConfig::block_enabled(int b) const {
    if (b < 0 || b >= segments - 1) return false;
    if (!blocks.empty() && method != Method::Independent && method != Method::MixtureOfAgents)
        return std::find(blocks.begin(), blocks.end(), b) != blocks.end();
    switch (method) {
        case Method::Leap:
        case Method::LeapT: return true;
        case Method::Independent:
        case Method::MixtureOfAgents: return false;
        case Method::Single:
        case Method::LeapS: return b == single_block;
    }
    return false;
}

int RunConfig::enabled_blocks() const {
    int n = 0;
    for (int b = 0; b + 1 < segments; ++b) n += block_enabled(b) ? 1 : 0;
    return n;
}

void RunConfig::validate() const {
    auto need = [](bool ok, const std::string& what) {
        if (!ok) throw Error(what);
    };
    need(n_paths >= 1, "number of paths (-N/--paths) must be at least 1, got " + std::to_string(n_paths));
    need(segment_tokens >= 1, "segment length (-T) must be at least 1, got " + std::to_string(segment_tokens));
    need(segments >= 1, "number of segments (--segments) must be at least 1, got " + std::to_string(segments));
    need(summary_tokens >= 1, "summary budget must be at least 1, got " + std::to_string(summary_tokens));
    need(answer_tokens >= 1, "answer budget must be at least 1, got " + std::to_string(answer_tokens));
    need(write_up_tokens >= 1,
         "write-up budget (--write-up-tokens) must be at least 1, got " + std::to_string(write_up_tokens));
    need(router.k >= 1, "peers per path (--peers) must be at least 1, got " + std::to_string(router.k));
    if (!blocks.empty()) {
        need(method != Method::Independent && method != Method::MixtureOfAgents,
             "--blocks: method " + std::string(to_string(method)) + " has no blocks");
        for (int b : blocks)
            need(b >= 0 && b < segments - 1, "--blocks: block " + std::to_string(b + 1) + " does not exist with " +
                                                 std::to_string(segments) + " segments (blocks 1.." +
                                                 std::to_string(segments - 1) + ")");
        if (method == Method::Single || method == Method::LeapS)
            need(blocks.size() == 1 && blocks[0] == single_block,
                 "--blocks: method " + std::string(to_string(method)) +
                     " runs exactly one block (--single-block); use --method leap or leap-t with --blocks LIST");
    }
    if (method == Method::Single || method == Method::LeapS)
        need(single_block >= 0 && single_block < segments - 1,
             "--single-block " + std::to_string(single_block) + " does not exist with " +
                 std::to_string(segments) + " segments (blocks 0.." + std::to_string(segments - 2) + ")" +
                 (segments < 2 ? std::string("; method ") + std::string(to_string(method)) +
                                     " needs at least 2 segments" : std::string()));
    if (method == Method::LeapS) {
        need(group_size >= 1, "group size (--group-size) must be at least 1, got " + std::to_string(group_size));
        need(n_paths % group_size == 0, "leap-s: the number of paths (-N " + std::to_string(n_paths) +
                                            ") must be a multiple of the group size (--group-size " +
                                            std::to_string(group_size) + ")");
    }
    validate_adaptive();
    if (method == Method::MixtureOfAgents) {
        need(moa_layers >= 1, "MoA layers (--moa-layers) must be at least 1, got " + std::to_string(moa_layers));
        need(moa_context_chars >= 0,
             "MoA context (--moa-context-chars) must be at least 0, got " + std::to_string(moa_context_chars));
    } else {
        need(moa_layout == MoaLayout::Leap, "--moa-layout reference is a setting of --method moa, not of " +
                                                std::string(to_string(method)));
    }
}

long token_budget(const RunConfig& c) {
    // Per path: M segments of T, a summary of S and the peers' summaries (k x S) at each of the
    // M-1 blocks when blocks run, and the answer A. Fixed texts (triggers, cues) are left out.
    const int blocks = c.enabled_blocks();
    const long per_path = (long)c.segments * c.segment_tokens +
                          (long)blocks * c.summary_tokens * (1 + c.router.k) + c.answer_tokens;
    // MoA: every layer is a whole response of every path.
    const long layers = c.method == Method::MixtureOfAgents ? c.moa_layers : 1;
    return per_path * c.n_paths * layers;
}

BudgetMatch parse_budget_match(std::string_view s) {
    if (s == "paths") return BudgetMatch::Paths;
    if (s == "length") return BudgetMatch::Length;
    throw Error("unknown budget match '" + std::string(s) + "' (choose paths or length)");
}

RunConfig equal_budget_independent(const RunConfig& leap, BudgetMatch how) {
    RunConfig c = leap;
    c.method = Method::Independent;
    c.prune_share = 0;  // pruning acts at blocks, which independent sampling has none of
    const long target = token_budget(leap);
    if (how == BudgetMatch::Paths) {
        const long per_path = (long)c.segments * c.segment_tokens + c.answer_tokens;
        c.n_paths = (int)((target + per_path - 1) / per_path);
    } else {
        // Same N, more segments of T: the smallest M' with N (M' T + A) >= target.
        const long per_path_reasoning = (target + c.n_paths - 1) / c.n_paths - c.answer_tokens;
        c.segments = (int)std::max<long>(1, (per_path_reasoning + c.segment_tokens - 1) / c.segment_tokens);
    }
    return c;
}

}  // namespace leap
