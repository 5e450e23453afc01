#pragma once
// Deterministic, platform-independent randomness for the method's choices (triggers, openers,
// random routing, sampler seeds). std::uniform_int_distribution is implementation-defined, so
// we draw bounded integers ourselves.
#include <cstdint>
#include <initializer_list>

namespace leap {

inline uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Mixes several identifiers (seed, problem, path, block, ...) into one 64-bit seed.
inline uint64_t mix_seed(std::initializer_list<uint64_t> parts) {
    uint64_t h = 0x6a09e667f3bcc908ULL;
    for (uint64_t p : parts) h = splitmix64(h ^ splitmix64(p));
    return h;
}

// The sampler seed of one generation request: request r (0-based, counted per path) of path
// `path` of problem `problem`. Both backends seed each request's draws with it (in process a
// fresh sampler per request, over HTTP the request's `seed`), so a seeded sampled run gives the
// same tokens in process and on a llama-server with the same model and sampler chain. 31 bits:
// every server takes it (llama-server reads a uint32, vLLM a signed int).
inline uint32_t request_seed(uint64_t run_seed, int problem, int path, int request) {
    return (uint32_t)(mix_seed({run_seed, (uint64_t)problem, (uint64_t)path, 0x0a1, (uint64_t)request}) & 0x7fffffffu);
}

// A small generator: splitmix64 stream. Good enough for choosing among a handful of options.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() { state_ += 0x9e3779b97f4a7c15ULL; return splitmix64(state_); }
    // Uniform integer in [0, n), n > 0, by rejection (no modulo bias).
    uint64_t below(uint64_t n) {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t r;
        do { r = next(); } while (r >= limit);
        return r % n;
    }
private:
    uint64_t state_;
};

}  // namespace leap
