#pragma once
// How many tokens each sequence with text to feed (an injected append, a trimmed re-feed) puts
// into one llama_decode batch. With a KV stream per sequence, llama.cpp splits a batch into
// micro-batches that each take the same number of tokens from a run of consecutive sequence
// ids (llama_batch_allocr::split_equal); a ragged batch (summaries of different lengths, say)
// becomes many small micro-batches, and every micro-batch is a pass over the model's weights.
// The plan shares the budget evenly and, where it costs little, pads a run of sequences to one
// height with throwaway tokens (removed from the cache after the decode), so the run is one
// rectangle.
#include <vector>

namespace leap {

struct AppendDemand {
    int seq = 0;      // llama.cpp sequence id
    int pending = 0;  // tokens waiting to be fed (> 0)
    int room = 0;     // positions the sequence may still use, from its next position on
};

struct AppendFeed {
    int n = 0;    // real tokens fed now (0: none this batch)
    int pad = 0;  // throwaway tokens after them
};

// Most padding accepted, as a share of a run's real tokens: a pad costs one token's compute, a
// saved micro-batch a pass over the weights (tens of tokens' worth on a CPU, more on a GPU).
inline constexpr double kMaxPadShare = 0.25;

// `demands` in any order; `budget` tokens in all (real and padding); `pad`: false for a unified
// KV cache (one stream: llama.cpp splits it freely). The feeds are in the order of `demands`.
std::vector<AppendFeed> plan_appends(const std::vector<AppendDemand>& demands, int budget, bool pad);

}  // namespace leap
