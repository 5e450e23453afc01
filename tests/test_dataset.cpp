// Datasets: the four reference benchmark files, JSON Lines, configurable fields, malformed input
// (each error names the file and the item or line), the seeded option shuffle, and
// `leap data fetch` against a local HTTP mirror and an unreachable one.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "eval/dataset.h"
#include "eval/fetch.h"

namespace fs = std::filesystem;
using leap::Dataset;
using leap::DatasetOptions;

namespace {

const std::string kDataDir = LEAP_SOURCE_DIR "/../shared/data/benchmarks";

bool have_data() { return fs::exists(fs::path(kDataDir) / "gpqa_diamond.json"); }

#define REQUIRE_DATA() \
    if (!have_data()) GTEST_SKIP() << "no reference benchmark files in " << kDataDir

fs::path fresh_dir(const std::string& tag) {
    const fs::path d = fs::path(LEAP_TEST_TMP) / ("dataset-" + std::to_string(getpid())) / tag;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

// The message of the leap::Error thrown by f, or "" when none is thrown.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const leap::Error& e) {
        return e.what();
    }
    return "";
}

DatasetOptions with_dir(bool shuffle = true, uint64_t seed = 0) {
    DatasetOptions o;
    o.data_dir = kDataDir;
    o.shuffle_options = shuffle;
    o.shuffle_seed = seed;
    return o;
}

}  // namespace

TEST(Dataset, BenchmarkNamesMapToReferenceFiles) {
    EXPECT_EQ(leap::benchmark_names(), (std::vector<std::string>{"aime24", "aime25", "aimo25", "gpqa"}));
    EXPECT_EQ(leap::benchmark_file("aime24"), "aime.json");
    EXPECT_EQ(leap::benchmark_file("aime25"), "aime_2025.json");
    EXPECT_EQ(leap::benchmark_file("aimo25"), "aimo.json");
    EXPECT_EQ(leap::benchmark_file("gpqa"), "gpqa_diamond.json");
    EXPECT_TRUE(leap::is_benchmark_name("gpqa"));
    EXPECT_FALSE(leap::is_benchmark_name("gpqa_diamond"));
    const std::string e = error_of([] { leap::benchmark_file("aime"); });
    EXPECT_NE(e.find("unknown benchmark 'aime'"), std::string::npos) << e;
    EXPECT_NE(e.find("aime24, aime25, aimo25, gpqa"), std::string::npos) << e;
}

TEST(Dataset, LoadsTheFourReferenceBenchmarks) {
    REQUIRE_DATA();
    const Dataset a24 = leap::load_dataset("aime24", with_dir());
    ASSERT_EQ(a24.items.size(), 30u);
    EXPECT_EQ(a24.name, "aime24");
    EXPECT_EQ(a24.path, kDataDir + "/aime.json");
    EXPECT_FALSE(a24.multiple_choice);
    EXPECT_FALSE(a24.shuffled);
    EXPECT_EQ(a24.items[0].answer, "204");
    EXPECT_EQ(a24.items[1].answer, "025");  // integers as written: the leading zero stays
    EXPECT_EQ(a24.items[0].problem.id, "aime24-0");
    EXPECT_EQ(a24.items[29].problem.id, "aime24-29");
    EXPECT_EQ(a24.items[0].problem.text.rfind("Every morning Aya", 0), 0u);
    EXPECT_TRUE(a24.items[0].problem.choices.empty());
    EXPECT_TRUE(a24.items[0].option_order.empty());

    EXPECT_EQ(leap::load_dataset("aime25", with_dir()).items.size(), 30u);

    const Dataset aimo = leap::load_dataset("aimo25", with_dir());
    ASSERT_EQ(aimo.items.size(), 10u);
    EXPECT_EQ(aimo.items[0].answer, "79");  // a JSON number, stored as text
    EXPECT_EQ(aimo.items[9].answer, "902");

    const Dataset g = leap::load_dataset("gpqa", with_dir());
    ASSERT_EQ(g.items.size(), 198u);
    EXPECT_TRUE(g.multiple_choice);
    EXPECT_TRUE(g.shuffled);
    for (const auto& it : g.items) {
        ASSERT_EQ(it.problem.choices.size(), 4u);
        ASSERT_EQ(it.option_order.size(), 4u);
        EXPECT_TRUE(it.problem.multiple_choice());
    }
}

TEST(Dataset, IdFieldFromTheFile) {
    REQUIRE_DATA();
    DatasetOptions o = with_dir();
    o.fields.id = "id";
    const Dataset d = leap::load_dataset("aime25", o);
    EXPECT_EQ(d.items[0].problem.id, "I-1");
    const Dataset aimo = leap::load_dataset("aimo25", o);
    EXPECT_EQ(aimo.items[0].problem.id, "057f8a");
    // aime.json has no "id": a configured id field must be present.
    const std::string e = error_of([&] { leap::load_dataset("aime24", o); });
    EXPECT_NE(e.find("aime.json: item 0: missing field \"id\""), std::string::npos) << e;
}

TEST(Dataset, BenchmarkNameNeedsDataDirAndTheFile) {
    std::string e = error_of([] { leap::load_dataset("aime24", DatasetOptions{}); });
    EXPECT_EQ(e, "benchmark 'aime24' needs --data-dir (the folder holding aime.json)");
    const fs::path empty = fresh_dir("empty-data");
    DatasetOptions o;
    o.data_dir = empty.string();
    e = error_of([&] { leap::load_dataset("gpqa", o); });
    EXPECT_NE(e.find("file not found: " + (empty / "gpqa_diamond.json").string()), std::string::npos) << e;
    e = error_of([&] { leap::load_dataset("no_such_thing.jsonl", o); });
    EXPECT_NE(e.find("'no_such_thing.jsonl' is neither a benchmark name"), std::string::npos) << e;
}

TEST(Dataset, GpqaUnshuffledKeepsTheFileOrderSoEveryAnswerIsA) {
    REQUIRE_DATA();
    const Dataset g = leap::load_dataset("gpqa", with_dir(false));
    EXPECT_FALSE(g.shuffled);
    const auto raw = nlohmann::json::parse(read_file(fs::path(kDataDir) / "gpqa_diamond.json"));
    ASSERT_EQ(g.items.size(), raw.size());
    for (size_t i = 0; i < g.items.size(); ++i) {
        const auto& it = g.items[i];
        EXPECT_EQ(it.answer, "A") << i;
        EXPECT_EQ(it.option_order, (std::vector<std::string>{"A", "B", "C", "D"})) << i;
        for (const auto& [letter, text] : it.problem.choices)
            EXPECT_EQ(text, raw[i]["options"][letter].get<std::string>()) << i << letter;
        EXPECT_EQ(it.problem.text, raw[i]["problem"].get<std::string>());
    }
}

TEST(Dataset, GpqaShuffledIsBalancedDeterministicAndKeepsTheGoldText) {
    REQUIRE_DATA();
    const auto raw = nlohmann::json::parse(read_file(fs::path(kDataDir) / "gpqa_diamond.json"));
    const Dataset g = leap::load_dataset("gpqa", with_dir(true, 0));
    EXPECT_EQ(g.shuffle_seed, 0u);
    std::map<std::string, int> count;
    for (size_t i = 0; i < g.items.size(); ++i) {
        const auto& it = g.items[i];
        ++count[it.answer];
        // The gold letter shows the file's correct option (always A there).
        EXPECT_EQ(it.problem.choices.at(it.answer), raw[i]["options"]["A"].get<std::string>()) << i;
        // option_order[j] is the original letter shown at displayed letter j.
        size_t j = 0;
        std::set<std::string> seen;
        for (const auto& [letter, text] : it.problem.choices) {
            EXPECT_EQ(text, raw[i]["options"][it.option_order[j]].get<std::string>()) << i;
            seen.insert(it.option_order[j]);
            ++j;
        }
        EXPECT_EQ(seen.size(), 4u);
    }
    // Pinned (docs/datasets.md): the shuffle is our own generator, the same on every platform.
    EXPECT_EQ(count, (std::map<std::string, int>{{"A", 56}, {"B", 41}, {"C", 42}, {"D", 59}}));
    for (const char* L : {"A", "B", "C", "D"}) {
        EXPECT_GE(count[L], 30) << L;
        EXPECT_LE(count[L], 70) << L;
    }

    const Dataset again = leap::load_dataset("gpqa", with_dir(true, 0));
    const Dataset other = leap::load_dataset("gpqa", with_dir(true, 12345));
    EXPECT_EQ(other.shuffle_seed, 12345u);
    int same_answer = 0;
    for (size_t i = 0; i < g.items.size(); ++i) {
        EXPECT_EQ(g.items[i].answer, again.items[i].answer);
        EXPECT_EQ(g.items[i].option_order, again.items[i].option_order);
        EXPECT_EQ(g.items[i].problem.choices, again.items[i].problem.choices);
        same_answer += g.items[i].answer == other.items[i].answer;
    }
    EXPECT_LT(same_answer, 100);  // another seed gives another shuffle (about 1/4 agree)
}

TEST(Dataset, OptionPermutationIsSeededFisherYates) {
    // Every position holds every option about equally often over many items.
    int at[4][4] = {};
    for (uint64_t i = 0; i < 4000; ++i) {
        const auto p = leap::option_permutation(7, i, 4);
        ASSERT_EQ(p.size(), 4u);
        EXPECT_EQ(std::set<size_t>(p.begin(), p.end()).size(), 4u);
        for (size_t j = 0; j < 4; ++j) ++at[j][p[j]];
    }
    for (auto& row : at)
        for (int c : row) {
            EXPECT_GT(c, 880);
            EXPECT_LT(c, 1120);
        }
    EXPECT_EQ(leap::option_permutation(7, 3, 4), leap::option_permutation(7, 3, 4));
    EXPECT_EQ(leap::option_permutation(1, 0, 1), std::vector<size_t>{0});
}

TEST(Dataset, JsonLinesWithCustomFields) {
    const fs::path d = fresh_dir("jsonl");
    const fs::path p = d / "mine.jsonl";
    write_file(p,
               "{\"q\": \"What is 1+1?\", \"gold\": 2, \"key\": \"x1\"}\n"
               "\n"
               "   \n"
               "{\"q\": \"Pick.\", \"gold\": \"007\", \"key\": 17}\r\n"
               "{\"q\": \"Half?\", \"gold\": 0.5, \"key\": \"x3\"}");  // no final newline
    DatasetOptions o;
    o.fields.problem = "q";
    o.fields.answer = "gold";
    o.fields.id = "key";
    const Dataset ds = leap::load_dataset(p.string(), o);
    EXPECT_EQ(ds.name, "mine");
    EXPECT_EQ(ds.path, p.string());
    ASSERT_EQ(ds.items.size(), 3u);
    EXPECT_EQ(ds.items[0].problem.text, "What is 1+1?");
    EXPECT_EQ(ds.items[0].answer, "2");
    EXPECT_EQ(ds.items[0].problem.id, "x1");
    EXPECT_EQ(ds.items[1].answer, "007");
    EXPECT_EQ(ds.items[1].problem.id, "17");
    EXPECT_EQ(ds.items[2].answer, "0.5");
    EXPECT_FALSE(ds.multiple_choice);

    // Format by content: a .json file holding JSON Lines is read as JSON Lines; default ids use
    // the file's stem.
    const fs::path q = d / "lines.json";
    write_file(q, "{\"problem\": \"p0\", \"answer\": \"1\"}\n{\"problem\": \"p1\", \"answer\": \"2\"}\n");
    const Dataset ds2 = leap::load_dataset(q.string(), DatasetOptions{});
    ASSERT_EQ(ds2.items.size(), 2u);
    EXPECT_EQ(ds2.items[1].problem.id, "lines-1");
}

TEST(Dataset, MultipleChoiceJsonLinesShuffleRemapsTheGold) {
    const fs::path p = fresh_dir("mc") / "mc.jsonl";
    std::string text;
    for (int i = 0; i < 40; ++i)
        text += "{\"problem\": \"q" + std::to_string(i) +
                "\", \"options\": {\"A\": \"a\", \"B\": \"b\", \"C\": \"c\"}, \"answer\": \"B\"}\n";
    write_file(p, text);
    DatasetOptions o;
    o.shuffle_seed = 99;
    const Dataset ds = leap::load_dataset(p.string(), o);
    ASSERT_TRUE(ds.multiple_choice);
    std::set<std::string> golds;
    for (size_t i = 0; i < ds.items.size(); ++i) {
        const auto& it = ds.items[i];
        EXPECT_EQ(it.problem.choices.at(it.answer), "b");
        const auto perm = leap::option_permutation(99, i, 3);
        const std::vector<std::string> letters = {"A", "B", "C"};
        for (size_t j = 0; j < 3; ++j) EXPECT_EQ(it.option_order[j], letters[perm[j]]);
        golds.insert(it.answer);
    }
    EXPECT_EQ(golds.size(), 3u);
    o.shuffle_options = false;
    for (const auto& it : leap::load_dataset(p.string(), o).items) EXPECT_EQ(it.answer, "B");
}

TEST(Dataset, MalformedInputNamesTheFileAndTheItem) {
    const fs::path d = fresh_dir("bad");
    struct Case {
        const char* file;
        std::string text;
        std::string expect;  // after "<path>"
    };
    const std::string ok = R"({"problem": "p", "answer": "1"})";
    const std::string mc = R"({"problem": "p", "options": {"A": "x", "B": "y"}, "answer": "A"})";
    const std::vector<Case> cases = {
        {"a.json", "[" + ok + ",", ": not valid JSON"},
        {"b.json", "[" + ok + ", 3]", ": item 1: expected a JSON object, got an integer"},
        {"c.json", "[" + ok + R"(, {"answer": "1"}])", ": item 1: missing field \"problem\""},
        {"d.json", "[" + ok + R"(, {"problem": "p"}])", ": item 1: missing field \"answer\""},
        {"e.json", R"([{"problem": 5, "answer": "1"}])", ": item 0: field \"problem\" must be a string, got an integer"},
        {"f.json", R"([{"problem": "  ", "answer": "1"}])", ": item 0: field \"problem\" is empty"},
        {"g.json", R"([{"problem": "p", "answer": true}])", ": item 0: field \"answer\" must be a string or a number, got a boolean"},
        {"h.json", R"([{"problem": "p", "answer": ""}])", ": item 0: field \"answer\" is empty"},
        {"i.json", "[" + mc + R"(, {"problem": "p", "options": ["x", "y"], "answer": "A"}])", ": item 1: field \"options\" must be an object"},
        {"j.json", R"([{"problem": "p", "options": {"A": "x", "B": 2}, "answer": "A"}])", ": item 0: option \"B\" must be a string, got an integer"},
        {"k.json", "[" + mc + R"(, {"problem": "p", "options": {"A": "x", "B": "y"}, "answer": "E"}])", ": item 1: answer \"E\" is not one of the options (A, B)"},
        {"l.json", "[" + mc + ", " + ok + "]", ": item 1: has no \"options\" but"},
        {"m.json", R"([{"problem": "p", "options": {"A": "x"}, "answer": "A"}])", ": item 0: field \"options\" needs at least two options"},
        {"n.json", "[]", ": no items"},
        {"o.json", "", ": the file is empty"},
        {"p.jsonl", ok + "\n\n" + ok + "\n{\"problem\": \"p\",\n", ":4: not valid JSON"},
        {"q.jsonl", ok + "\n[1, 2]\n", ":2: expected a JSON object, got an array"},
        {"r.jsonl", ok + "\n" + R"({"problem": "p", "answer": 12.5, "options": null, "x": 1})" + "\n{\"answer\": 1}\n", ":3: missing field \"problem\""},
        {"s.json", "{\n  \"problem\": \"p\",\n  \"answer\": \"1\"\n}\n", ": the file holds one JSON value (an object); expected a JSON array"},
        {"t.json", "  {\"problems\": []}", ":1: missing field \"problem\""},
    };
    for (const auto& c : cases) {
        const fs::path p = d / c.file;
        write_file(p, c.text);
        const std::string e = error_of([&] { leap::load_dataset(p.string(), DatasetOptions{}); });
        EXPECT_EQ(e.rfind(p.string(), 0), 0u) << c.file << ": " << e;
        EXPECT_NE(e.find(c.expect), std::string::npos) << c.file << ": got \"" << e << "\"";
    }
    // Repeated ids are an error (results are keyed by id).
    const fs::path p = d / "dup.jsonl";
    write_file(p, R"({"problem": "p", "answer": "1", "id": "a"})" "\n" R"({"problem": "q", "answer": "2", "id": "a"})");
    DatasetOptions o;
    o.fields.id = "id";
    const std::string e = error_of([&] { leap::load_dataset(p.string(), o); });
    EXPECT_NE(e.find(":2: id \"a\" repeats " + p.string() + ":1"), std::string::npos) << e;
}

// ---- fetch -----------------------------------------------------------------------------------

namespace {

bool have_tool(const char* check) { return std::system(check) == 0; }

int free_port() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(s);
        return -1;
    }
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
}

bool port_open(int port) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
}

// python3 -m http.server serving `root` on 127.0.0.1, stopped (by its pid) on destruction.
struct HttpServer {
    int port = -1;
    pid_t pid = -1;
    explicit HttpServer(const fs::path& root, const fs::path& work) {
        port = free_port();
        if (port <= 0) return;
        const fs::path pidfile = work / "server.pid";
        const std::string cmd = "python3 -m http.server " + std::to_string(port) +
                                " --bind 127.0.0.1 --directory '" + root.string() + "' >'" +
                                (work / "server.log").string() + "' 2>&1 & echo $! >'" +
                                pidfile.string() + "'";
        if (std::system(cmd.c_str()) != 0) return;
        pid = static_cast<pid_t>(std::atol(read_file(pidfile).c_str()));
        for (int i = 0; i < 200 && !port_open(port); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    bool up() const { return pid > 0 && port_open(port); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
    ~HttpServer() {
        if (pid <= 0) return;
        kill(pid, SIGTERM);
        for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
};

std::vector<std::string> files_in(const fs::path& d) {
    std::vector<std::string> v;
    if (!fs::exists(d)) return v;
    for (const auto& e : fs::directory_iterator(d)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
}

#define REQUIRE_FETCH_TOOLS()                                                                  \
    if (!have_tool("curl --version >/dev/null 2>&1")) GTEST_SKIP() << "no curl";               \
    if (!have_tool("python3 -c 'import http.server' >/dev/null 2>&1")) GTEST_SKIP() << "no python3"

const std::vector<std::string> kFiles = {"aime.json", "aime_2025.json", "aimo.json", "gpqa_diamond.json"};

}  // namespace

TEST(DatasetFetch, FromALocalMirrorAllOrNothing) {
    REQUIRE_DATA();
    REQUIRE_FETCH_TOOLS();
    const fs::path work = fresh_dir("fetch-mirror");
    const fs::path root = work / "www";
    fs::create_directories(root);
    // The mirror first lacks gpqa_diamond.json: the fetch fails with the 404 and writes nothing,
    // not even the three files that did download.
    for (const auto& f : kFiles)
        if (f != "gpqa_diamond.json") fs::copy_file(fs::path(kDataDir) / f, root / f);
    HttpServer server(root, work);
    ASSERT_TRUE(server.up()) << read_file(work / "server.log");

    leap::FetchOptions opt;
    opt.base_url = server.url() + "/";
    std::vector<std::string> logged;
    opt.log = [&](const std::string& s) { logged.push_back(s); };
    const fs::path out = work / "out";
    std::string e = error_of([&] { leap::fetch_benchmarks(out.string(), opt); });
    EXPECT_NE(e.find("cannot download " + server.url() + "/gpqa_diamond.json: "), std::string::npos) << e;
    EXPECT_NE(e.find("404"), std::string::npos) << e;
    EXPECT_NE(e.find("copy the files into " + out.string() + " instead"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(out)) << "left: " << testing::PrintToString(files_in(out));

    fs::copy_file(fs::path(kDataDir) / "gpqa_diamond.json", root / "gpqa_diamond.json");
    logged.clear();
    leap::fetch_benchmarks(out.string(), opt);
    EXPECT_EQ(files_in(out), (std::vector<std::string>{"aime.json", "aime_2025.json", "aimo.json",
                                                       "gpqa_diamond.json"}));
    for (const auto& f : kFiles) EXPECT_EQ(read_file(out / f), read_file(fs::path(kDataDir) / f)) << f;
    EXPECT_EQ(logged.size(), 8u);  // downloading + wrote, per file
    DatasetOptions dopt;
    dopt.data_dir = out.string();
    EXPECT_EQ(leap::load_dataset("aime24", dopt).items.size(), 30u);
    EXPECT_EQ(leap::load_dataset("aime25", dopt).items.size(), 30u);
    EXPECT_EQ(leap::load_dataset("aimo25", dopt).items.size(), 10u);
    EXPECT_EQ(leap::load_dataset("gpqa", dopt).items.size(), 198u);

    // LEAP_DATA_BASE_URL is the default base; existing files are kept unless force.
    write_file(root / "aimo.json", R"([{"problem": "new", "answer": 1}])");
    setenv("LEAP_DATA_BASE_URL", server.url().c_str(), 1);
    leap::FetchOptions env_opt;
    env_opt.names = {"aimo25"};
    leap::fetch_benchmarks(out.string(), env_opt);
    EXPECT_EQ(leap::load_dataset("aimo25", dopt).items.size(), 10u);  // kept
    env_opt.force = true;
    leap::fetch_benchmarks(out.string(), env_opt);
    EXPECT_EQ(leap::load_dataset("aimo25", dopt).items.size(), 1u);   // downloaded again

    // A mirror file that is not a valid dataset is refused and the old file stays.
    write_file(root / "aimo.json", R"([{"problem": "p"}])");
    e = error_of([&] { leap::fetch_benchmarks(out.string(), env_opt); });
    unsetenv("LEAP_DATA_BASE_URL");
    EXPECT_NE(e.find(server.url() + "/aimo.json: item 0: missing field \"answer\""), std::string::npos) << e;
    EXPECT_EQ(leap::load_dataset("aimo25", dopt).items.size(), 1u);
    EXPECT_EQ(files_in(out).size(), 4u);  // no .part files left
}

TEST(DatasetFetch, UnreachableSourceFailsFastAndLeavesNoFiles) {
    REQUIRE_FETCH_TOOLS();
    const fs::path work = fresh_dir("fetch-closed");
    leap::FetchOptions opt;
    opt.base_url = "http://127.0.0.1:9";  // a closed port
    const fs::path out = work / "new-dir";
    const auto t0 = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { leap::fetch_benchmarks(out.string(), opt); });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(e.rfind("cannot download http://127.0.0.1:9/aime.json: ", 0), 0u) << e;
    EXPECT_NE(e.find("no network? copy the files into " + out.string() + " instead"), std::string::npos) << e;
    EXPECT_LT(secs, 30.0);
    EXPECT_FALSE(fs::exists(out));  // the directory it created is removed again

    // An existing directory stays, empty.
    const fs::path existing = work / "existing";
    fs::create_directories(existing);
    EXPECT_FALSE(error_of([&] { leap::fetch_benchmarks(existing.string(), opt); }).empty());
    EXPECT_TRUE(fs::exists(existing));
    EXPECT_TRUE(files_in(existing).empty()) << testing::PrintToString(files_in(existing));

    // Files already there need no network unless force.
    write_file(existing / "aime.json", "old");
    opt.names = {"aime24"};
    EXPECT_NO_THROW(leap::fetch_benchmarks(existing.string(), opt));
    opt.force = true;
    EXPECT_FALSE(error_of([&] { leap::fetch_benchmarks(existing.string(), opt); }).empty());
    EXPECT_EQ(read_file(existing / "aime.json"), "old");
    EXPECT_EQ(files_in(existing), std::vector<std::string>{"aime.json"});

    opt.curl = "leap-test-no-such-curl";
    const std::string no_curl = error_of([&] { leap::fetch_benchmarks(existing.string(), opt); });
    EXPECT_NE(no_curl.find("the curl program was not found"), std::string::npos) << no_curl;
    EXPECT_EQ(read_file(existing / "aime.json"), "old");

    opt.names = {"math500"};
    EXPECT_NE(error_of([&] { leap::fetch_benchmarks(existing.string(), opt); }).find("unknown benchmark 'math500'"),
              std::string::npos);
}

TEST(DatasetFetch, PlanAndUpstreamConverters) {
    unsetenv("LEAP_DATA_BASE_URL");
    const auto plan = leap::fetch_plan();
    ASSERT_EQ(plan.size(), 4u);
    EXPECT_EQ(plan[3].name, "gpqa");
    EXPECT_EQ(plan[3].file, "gpqa_diamond.json");
    EXPECT_NE(plan[3].url.find("datasets-server.huggingface.co/rows?dataset=Idavidrein%2Fgpqa&config=gpqa_diamond"),
              std::string::npos) << plan[3].url;
    leap::FetchOptions m;
    m.base_url = "http://mirror.example/bench/";
    EXPECT_EQ(leap::fetch_plan(m)[1].url, "http://mirror.example/bench/aime_2025.json");

    // A datasets-server page of GPQA rows becomes the reference format (correct option at A).
    const std::string page = R"({"rows": [
        {"row_idx": 0, "row": {"Question": " Which? ", "Correct Answer": "right",
          "Incorrect Answer 1": "w1", "Incorrect Answer 2": "w2", "Incorrect Answer 3": "w3",
          "High-level domain": "Physics"}, "truncated_cells": []}],
        "num_rows_total": 198})";
    long total = 0;
    const std::string rows = leap::fetch_detail::parse_rows_page(page, "page", &total);
    EXPECT_EQ(total, 198);
    ASSERT_EQ(nlohmann::json::parse(rows).size(), 1u);
    const std::string ref_text = leap::fetch_detail::convert_rows("gpqa", rows, "src");
    const auto ref = nlohmann::json::parse(ref_text);
    ASSERT_EQ(ref.size(), 1u);
    EXPECT_EQ(ref[0]["problem"], "Which?");
    EXPECT_EQ(ref[0]["answer"], "A");
    EXPECT_EQ(ref[0]["options"]["A"], "right");
    EXPECT_EQ(ref[0]["options"]["D"], "w3");
    EXPECT_EQ(ref[0]["domain"], "Physics");
    DatasetOptions o;
    o.shuffle_options = false;
    const Dataset d = leap::parse_dataset(ref_text, "src", "gpqa", o);
    EXPECT_EQ(d.items[0].problem.choices.at("A"), "right");

    // AIME rows with capitalized fields and integer answers.
    const auto aime = nlohmann::json::parse(leap::fetch_detail::convert_rows(
        "aime24", R"([{"ID": "2024-I-2", "Problem": "Find x.", "Answer": 25}])", "src"));
    EXPECT_EQ(aime[0]["problem"], "Find x.");
    EXPECT_EQ(aime[0]["answer"], "25");
    EXPECT_EQ(aime[0]["id"], "2024-I-2");

    std::string e = error_of([] {
        leap::fetch_detail::convert_rows("gpqa", R"([{"Question": "q"}])", "src");
    });
    EXPECT_EQ(e, "src: row 0: missing field \"Correct Answer\"");
    e = error_of([] { leap::fetch_detail::parse_rows_page(R"({"error": "gated"})", "u", nullptr); });
    EXPECT_NE(e.find("u: not a datasets-server rows page"), std::string::npos) << e;
    EXPECT_NE(e.find("gated"), std::string::npos) << e;
}
