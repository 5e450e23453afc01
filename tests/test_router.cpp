// Routers: hand-computed selections, tie-breaking, activity, hybrid de-duplication vs the
// reference behaviour, and the seeded random router.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/router.h"

using leap::RouterKind;
using leap::RouterOptions;
using leap::Similarity;

namespace {

// Four summaries of length 4; indel similarity = 1 - (8 - 2*LCS)/8 = LCS/4, and here the edit
// distance is 4 - LCS, so the Levenshtein similarity (1 - lev/4) is the same LCS/4:
//   LCS(aaaa,aaab)=3  LCS(aaaa,aabb)=2  LCS(aaaa,bbbb)=0
//   LCS(aaab,aabb)=3  LCS(aaab,bbbb)=1  LCS(aabb,bbbb)=2
// Similarity matrix (row = receiver):
//        0     1     2     3
//   0    -    .75   .50   .00
//   1   .75    -    .75   .25
//   2   .50   .75    -    .50
//   3   .00   .25   .50    -
const std::vector<std::string> kFour = {"aaaa", "aaab", "aabb", "bbbb"};
const std::vector<bool> kAllActive(4, true);
const double kSim[4][4] = {{1, .75, .5, 0}, {.75, 1, .75, .25}, {.5, .75, 1, .5}, {0, .25, .5, 1}};

using Peers = std::vector<std::vector<int>>;

Peers peers_of(const std::vector<std::vector<leap::RouteChoice>>& r) {
    Peers out;
    for (const auto& row : r) {
        out.emplace_back();
        for (const auto& c : row) out.back().push_back(c.peer);
    }
    return out;
}

RouterOptions opts(RouterKind kind, int k, bool parity = false) {
    RouterOptions o;
    o.kind = kind;
    o.k = k;
    o.reference_parity = parity;
    return o;
}

Peers run(RouterKind kind, int k, const std::vector<bool>& active = kAllActive, bool parity = false) {
    const auto r = leap::route(kFour, active, opts(kind, k, parity));
    // Every score is the receiver-peer similarity from the table above.
    for (size_t i = 0; i < r.size(); ++i)
        for (const auto& c : r[i]) EXPECT_EQ(c.score, kSim[i][c.peer]) << i << "->" << c.peer;
    return peers_of(r);
}

}  // namespace

TEST(Router, Dispersed) {
    // Ascending similarity, ties to the lower index:
    //   0: 3(0) 2(.5) 1(.75)    1: 3(.25) 0(.75) 2(.75)    2: 0(.5) 3(.5) 1(.75)    3: 0(0) 1(.25) 2(.5)
    EXPECT_EQ(run(RouterKind::Dispersed, 2), (Peers{{3, 2}, {3, 0}, {0, 3}, {0, 1}}));
    EXPECT_EQ(run(RouterKind::Dispersed, 1), (Peers{{3}, {3}, {0}, {0}}));
}

TEST(Router, Clustered) {
    // Descending similarity, ties to the lower index:
    //   0: 1(.75) 2(.5) 3(0)    1: 0(.75) 2(.75) 3(.25)    2: 1(.75) 0(.5) 3(.5)    3: 2(.5) 1(.25) 0(0)
    EXPECT_EQ(run(RouterKind::Clustered, 2), (Peers{{1, 2}, {0, 2}, {1, 0}, {2, 1}}));
    EXPECT_EQ(run(RouterKind::Clustered, 1), (Peers{{1}, {0}, {1}, {2}}));
}

TEST(Router, KAtLeastCandidatesTakesAllInSortedOrder) {
    for (int k : {3, 4, 100}) {
        EXPECT_EQ(run(RouterKind::Dispersed, k), (Peers{{3, 2, 1}, {3, 0, 2}, {0, 3, 1}, {0, 1, 2}})) << k;
        EXPECT_EQ(run(RouterKind::Clustered, k), (Peers{{1, 2, 3}, {0, 2, 3}, {1, 0, 3}, {2, 1, 0}})) << k;
        EXPECT_EQ(run(RouterKind::All, k), (Peers{{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}})) << k;
    }
}

TEST(Router, Hybrid) {
    // k=2: 1 least + 1 most.
    EXPECT_EQ(run(RouterKind::Hybrid, 2), (Peers{{3, 1}, {3, 0}, {0, 1}, {0, 2}}));
    // k=1: floor(1/2)=0 least, 1 most -> same as clustered k=1.
    EXPECT_EQ(run(RouterKind::Hybrid, 1), run(RouterKind::Clustered, 1));
    // k=3: 1 least + 2 most. Receiver 2: least [0], most list 1,0,3 -> 1, skip 0 (taken), 3.
    EXPECT_EQ(run(RouterKind::Hybrid, 3), (Peers{{3, 1, 2}, {3, 0, 2}, {0, 1, 3}, {0, 2, 1}}));
}

TEST(Router, HybridReferenceParityKeepsDuplicates) {
    // k=3, receiver 2: least[:1] = [0], most[:2] = [1, 0] -> [0, 1, 0] (peer 0 twice).
    EXPECT_EQ(run(RouterKind::Hybrid, 3, kAllActive, true), (Peers{{3, 1, 2}, {3, 0, 2}, {0, 1, 0}, {0, 2, 1}}));
    // k=4 > 3 candidates: least[:2] + most[:2]. Default: 3 distinct peers; parity: 4 entries.
    //   0: least 3,2  most 1,2      1: least 3,0  most 0,2      2: least 0,3  most 1,0      3: least 0,1  most 2,1
    EXPECT_EQ(run(RouterKind::Hybrid, 4), (Peers{{3, 2, 1}, {3, 0, 2}, {0, 3, 1}, {0, 1, 2}}));
    EXPECT_EQ(run(RouterKind::Hybrid, 4, kAllActive, true),
              (Peers{{3, 2, 1, 2}, {3, 0, 0, 2}, {0, 3, 1, 0}, {0, 1, 2, 1}}));
    // Without duplicates possible (k=2) parity changes nothing.
    EXPECT_EQ(run(RouterKind::Hybrid, 2, kAllActive, true), run(RouterKind::Hybrid, 2));
}

TEST(Router, HybridNeverRepeatsByDefault) {
    for (int k = 1; k <= 6; ++k) {
        const Peers p = run(RouterKind::Hybrid, k);
        for (size_t i = 0; i < p.size(); ++i) {
            EXPECT_EQ(p[i].size(), std::min<size_t>(k, 3)) << "k=" << k;
            EXPECT_EQ(std::set<int>(p[i].begin(), p[i].end()).size(), p[i].size()) << "k=" << k;
        }
    }
}

TEST(Router, ExactTiesGoToLowerIndex) {
    // Identical summaries: every similarity is 1, so the first k other indices win in every router.
    const std::vector<std::string> same(5, "the same summary");
    const std::vector<bool> act(5, true);
    const Peers want = {{1, 2}, {0, 2}, {0, 1}, {0, 1}, {0, 1}};
    for (auto kind : {RouterKind::Dispersed, RouterKind::Clustered, RouterKind::Hybrid}) {
        const auto r = leap::route(same, act, opts(kind, 2));
        EXPECT_EQ(peers_of(r), want) << leap::to_string(kind);
        for (const auto& row : r)
            for (const auto& c : row) EXPECT_EQ(c.score, 1.0);
    }
    // A tie in the middle: receiver "xy" sees "xa" and "ya" both at indel 1 - 2/4 = .5 and
    // "zz" at 0: dispersed k=2 -> zz then the lower of the tied pair; clustered k=1 -> lower.
    const std::vector<std::string> s = {"xy", "ya", "xa", "zz"};
    const std::vector<bool> a4(4, true);
    EXPECT_EQ(peers_of(leap::route(s, a4, opts(RouterKind::Dispersed, 2)))[0], (std::vector<int>{3, 1}));
    EXPECT_EQ(peers_of(leap::route(s, a4, opts(RouterKind::Clustered, 1)))[0], (std::vector<int>{1}));
}

TEST(Router, SimilarityKindMatters) {
    // Receiver "abcd": peer 1 "abxy" LCS 2 -> indel .5, edit 2 -> lev .5;
    //                  peer 2 "bcda" LCS 3 -> indel .75, edit 2 (-a, +a) -> lev .5.
    const std::vector<std::string> s = {"abcd", "abxy", "bcda"};
    const std::vector<bool> act(3, true);
    RouterOptions o = opts(RouterKind::Clustered, 1);
    auto r = leap::route(s, act, o);
    ASSERT_EQ(r[0].size(), 1u);
    EXPECT_EQ(r[0][0].peer, 2);
    EXPECT_EQ(r[0][0].score, 0.75);
    o.similarity = Similarity::Levenshtein;
    r = leap::route(s, act, o);  // tie at .5 -> lower index
    ASSERT_EQ(r[0].size(), 1u);
    EXPECT_EQ(r[0][0].peer, 1);
    EXPECT_EQ(r[0][0].score, 0.5);
}

TEST(Router, InactivePathsNeitherReceiveNorAreChosen) {
    const std::vector<bool> act = {true, false, true, true};
    // 0: candidates 2(.5) 3(0)   2: candidates 0(.5) 3(.5)   3: candidates 0(0) 2(.5)
    EXPECT_EQ(run(RouterKind::Dispersed, 2, act), (Peers{{3, 2}, {}, {0, 3}, {0, 2}}));
    EXPECT_EQ(run(RouterKind::Clustered, 1, act), (Peers{{2}, {}, {0}, {2}}));
    EXPECT_EQ(run(RouterKind::Hybrid, 2, act), (Peers{{3, 2}, {}, {0, 3}, {0, 2}}));
    EXPECT_EQ(run(RouterKind::All, 2, act), (Peers{{2, 3}, {}, {0, 3}, {0, 2}}));
    for (uint64_t seed = 0; seed < 50; ++seed) {
        RouterOptions o = opts(RouterKind::Random, 5);
        o.seed = seed;
        const Peers p = peers_of(leap::route(kFour, act, o));
        EXPECT_TRUE(p[1].empty());
        for (size_t i : {0u, 2u, 3u}) {
            EXPECT_EQ(p[i].size(), 2u);
            for (int j : p[i]) EXPECT_TRUE(j != 1 && j != static_cast<int>(i));
        }
    }
}

TEST(Router, SingleActivePathGetsNoPeers) {
    const std::vector<bool> act = {false, false, true, false};
    for (auto kind : {RouterKind::Dispersed, RouterKind::Clustered, RouterKind::Hybrid, RouterKind::Random,
                      RouterKind::All})
        EXPECT_EQ(run(kind, 2, act), (Peers{{}, {}, {}, {}})) << leap::to_string(kind);
    EXPECT_EQ(run(RouterKind::Hybrid, 3, act, true), (Peers{{}, {}, {}, {}}));
    // Nothing active, and nothing at all.
    EXPECT_EQ(run(RouterKind::All, 2, std::vector<bool>(4, false)), (Peers{{}, {}, {}, {}}));
    EXPECT_TRUE(leap::route({}, {}, RouterOptions{}).empty());
}

TEST(Router, RandomIsSeededAndValid) {
    const std::vector<std::string> s(8, "x");
    std::vector<bool> act(8, true);
    act[5] = false;
    std::set<Peers> distinct;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        RouterOptions o = opts(RouterKind::Random, 3);
        o.seed = seed;
        const Peers a = peers_of(leap::route(s, act, o));
        EXPECT_EQ(a, peers_of(leap::route(s, act, o))) << "not deterministic, seed " << seed;
        distinct.insert(a);
        for (size_t i = 0; i < a.size(); ++i) {
            if (!act[i]) {
                EXPECT_TRUE(a[i].empty());
                continue;
            }
            EXPECT_EQ(a[i].size(), 3u);
            EXPECT_EQ(std::set<int>(a[i].begin(), a[i].end()).size(), 3u) << "duplicate peer";
            for (int j : a[i]) {
                EXPECT_NE(j, static_cast<int>(i));
                EXPECT_TRUE(act[j]) << "inactive peer " << j;
            }
        }
    }
    EXPECT_GT(distinct.size(), 10u) << "different seeds should give different draws";
}

TEST(Router, RandomDependsOnlyOnSeedAndReceiver) {
    // The draw ignores the summaries, and follows the documented partial Fisher-Yates on
    // Rng(mix_seed({seed, i})) over the candidates in increasing index order.
    std::vector<std::string> s = {"a", "b", "c", "d", "e", "f"};
    const std::vector<bool> act(6, true);
    RouterOptions o = opts(RouterKind::Random, 3);
    o.seed = 42;
    const Peers a = peers_of(leap::route(s, act, o));
    s = {"zz", "zzz", "q", "", "e", "long text"};
    EXPECT_EQ(peers_of(leap::route(s, act, o)), a);
    for (int i = 0; i < 6; ++i) {
        std::vector<int> pool;
        for (int j = 0; j < 6; ++j)
            if (j != i) pool.push_back(j);
        leap::Rng rng(leap::mix_seed({42, static_cast<uint64_t>(i)}));
        std::vector<int> want;
        for (size_t t = 0; t < 3; ++t) {
            std::swap(pool[t], pool[t + rng.below(pool.size() - t)]);
            want.push_back(pool[t]);
        }
        EXPECT_EQ(a[i], want) << "receiver " << i;
    }
    // k >= candidates: all of them, each once.
    o.k = 10;
    for (const auto& row : peers_of(leap::route(s, act, o))) {
        EXPECT_EQ(row.size(), 5u);
        EXPECT_EQ(std::set<int>(row.begin(), row.end()).size(), 5u);
    }
}

TEST(Router, RandomRoughlyUniform) {
    // 5 paths, k=2, receiver 0 over 4000 seeds: each of 4 candidates should be first pick ~1000
    // times and chosen at all ~2000 times (std ~27 and ~32); the bounds are very loose.
    const std::vector<std::string> s(5, "x");
    const std::vector<bool> act(5, true);
    int first[5] = {}, any[5] = {};
    for (uint64_t seed = 0; seed < 4000; ++seed) {
        RouterOptions o = opts(RouterKind::Random, 2);
        o.seed = seed;
        const auto p = peers_of(leap::route(s, act, o))[0];
        ASSERT_EQ(p.size(), 2u);
        ++first[p[0]];
        for (int j : p) ++any[j];
    }
    EXPECT_EQ(first[0], 0);
    for (int j = 1; j < 5; ++j) {
        EXPECT_GT(first[j], 850) << j;
        EXPECT_LT(first[j], 1150) << j;
        EXPECT_GT(any[j], 1800) << j;
        EXPECT_LT(any[j], 2200) << j;
    }
}

TEST(Router, Errors) {
    for (int k : {0, -1}) {
        try {
            leap::route(kFour, kAllActive, opts(RouterKind::Dispersed, k));
            ADD_FAILURE() << "no error for k=" << k;
        } catch (const leap::Error& e) {
            EXPECT_NE(std::string(e.what()).find("k must be at least 1"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(leap::route(kFour, std::vector<bool>(3, true), RouterOptions{}), leap::Error);
}

TEST(Router, ParseAndName) {
    const std::pair<const char*, RouterKind> all[] = {{"dispersed", RouterKind::Dispersed},
                                                      {"clustered", RouterKind::Clustered},
                                                      {"hybrid", RouterKind::Hybrid},
                                                      {"random", RouterKind::Random},
                                                      {"all", RouterKind::All}};
    for (const auto& [name, kind] : all) {
        EXPECT_EQ(leap::parse_router(name), kind);
        EXPECT_EQ(leap::to_string(kind), name);
    }
    for (const char* bad : {"", "Dispersed", "nearest", "all "}) {
        try {
            leap::parse_router(bad);
            ADD_FAILURE() << "no error for \"" << bad << "\"";
        } catch (const leap::Error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("\"" + std::string(bad) + "\""), std::string::npos) << msg;
            for (const char* choice : {"dispersed", "clustered", "hybrid", "random", "all"})
                EXPECT_NE(msg.find(choice), std::string::npos) << msg;
        }
    }
}
