#pragma once
// Routers: which peers' summaries each reasoning path receives at a communication step.
//   dispersed: the k least similar peers     clustered: the k most similar peers
//   hybrid:    floor(k/2) least similar, then the rest most similar
//   random:    k peers uniformly without replacement, seeded per (seed, receiver)
//   all:       every peer
//   confident: the k peers with the highest confidence (opt.confidence; ties: lower index)
//   confident-dispersed: the k least similar among the more confident half of the candidates
//              (at least k of them)
// Only active (unfinished) paths receive peers and only active paths are candidates.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/similarity.h"

namespace leap {

enum class RouterKind { Dispersed, Clustered, Hybrid, Random, All, Confident, ConfidentDispersed };

// "dispersed" | "clustered" | "hybrid" | "random" | "all" | "confident" | "confident-dispersed"; else leap::Error naming the value.
RouterKind parse_router(std::string_view name);
std::string_view to_string(RouterKind kind);

struct RouteChoice {
    int peer;      // 0-based path index
    double score;  // similarity(summary_receiver, summary_peer)
};

struct RouterOptions {
    RouterKind kind = RouterKind::Dispersed;
    int k = 2;  // peers per receiver, >= 1
    Similarity similarity = Similarity::Indel;
    uint64_t seed = 0;  // random router only
    // Hybrid only: reproduce the reference implementation, least[:k/2] + most[:k-k/2] without
    // de-duplication (a peer can then appear twice). Default: the most-similar part skips peers
    // already chosen, giving min(k, candidates) distinct peers.
    bool reference_parity = false;
    // confident, confident-dispersed: each path's confidence (core/confidence.h: the group
    // confidence of its window ending at the block), one per summary; filled in at each block.
    std::vector<double> confidence;
};

// summaries[i]: path i's summary; active[i]: path i is unfinished. Returns, for each i, the chosen
// peers in selection order (empty for inactive i). Ties in similarity go to the lower index.
// Throws leap::Error if k < 1, the two vectors differ in size, or a confidence router has no
// confidence per summary.
std::vector<std::vector<RouteChoice>> route(const std::vector<std::string>& summaries,
                                            const std::vector<bool>& active,
                                            const RouterOptions& opt);

}  // namespace leap
