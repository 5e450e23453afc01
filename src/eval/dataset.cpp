#include "eval/dataset.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "core/error.h"
#include "core/json_type.h"
#include "core/rng.h"

namespace leap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Size limits: a problem longer than a leap serve request body would take minutes to
// tokenize before failing on the context anyway; a dataset file beyond this is not a benchmark.
constexpr size_t kMaxProblemBytes = 1u << 20;
constexpr uintmax_t kMaxDatasetBytes = 1024ull << 20;

struct Benchmark {
    const char* name;
    const char* file;
};
constexpr Benchmark kBenchmarks[] = {
    {"aime24", "aime.json"},
    {"aime25", "aime_2025.json"},
    {"aimo25", "aimo.json"},
    {"gpqa", "gpqa_diamond.json"},
};

std::string known_names() {
    std::string s;
    for (const auto& b : kBenchmarks) s += (s.empty() ? "" : ", ") + std::string(b.name);
    return s;
}

bool blank(std::string_view s) {
    return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n\f\v");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n\f\v");
    return std::string(s.substr(b, e - b + 1));
}

// A scalar written as text: strings as they are, integers in decimal, other numbers as JSON
// writes them. Anything else is an error (the caller names the field).
bool scalar_text(const json& j, std::string& out) {
    if (j.is_string()) { out = j.get<std::string>(); return true; }
    if (j.is_number_unsigned()) { out = std::to_string(j.get<uint64_t>()); return true; }
    if (j.is_number_integer()) { out = std::to_string(j.get<int64_t>()); return true; }
    if (j.is_number_float()) { out = j.dump(); return true; }
    return false;
}

struct Loader {
    std::string origin;
    std::string name;
    const DatasetOptions& opt;
    Dataset ds;
    std::map<std::string, std::string> seen_ids;  // id -> where it was first seen
    int mc_state = -1;                            // -1 unknown, 0 free-answer, 1 multiple choice
    std::string first_where;

    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw Error(where + ": " + what);
    }

    void add(const json& obj, const std::string& where) {
        const DatasetFields& f = opt.fields;
        const size_t index = ds.items.size();
        if (!obj.is_object()) fail(where, std::string("expected a JSON object, got ") + json_type_name(obj));

        Item item;
        // problem
        auto p = obj.find(f.problem);
        if (p == obj.end()) fail(where, "missing field \"" + f.problem + "\"");
        if (!p->is_string())
            fail(where, "field \"" + f.problem + "\" must be a string, got " + json_type_name(*p));
        if (p->get_ref<const std::string&>().size() > kMaxProblemBytes)
            fail(where, "field \"" + f.problem + "\" holds " + std::to_string(p->get_ref<const std::string&>().size()) +
                            " bytes; a problem may hold at most " + std::to_string(kMaxProblemBytes) +
                            " bytes (1 MiB, as a leap serve request)");
        item.problem.text = p->get<std::string>();
        if (blank(item.problem.text)) fail(where, "field \"" + f.problem + "\" is empty");

        // answer
        auto a = obj.find(f.answer);
        if (a == obj.end()) fail(where, "missing field \"" + f.answer + "\"");
        std::string answer;
        if (!scalar_text(*a, answer))
            fail(where, "field \"" + f.answer + "\" must be a string or a number, got " + json_type_name(*a));
        answer = trim(answer);
        if (answer.empty()) fail(where, "field \"" + f.answer + "\" is empty");

        // id
        if (f.id.empty()) {
            item.problem.id = name + "-" + std::to_string(index);
        } else {
            auto i = obj.find(f.id);
            if (i == obj.end()) fail(where, "missing field \"" + f.id + "\" (the id field)");
            if (!(i->is_string() || i->is_number_integer()) || !scalar_text(*i, item.problem.id))
                fail(where, "field \"" + f.id + "\" must be a string or an integer, got " + json_type_name(*i));
            if (blank(item.problem.id)) fail(where, "field \"" + f.id + "\" is empty");
        }
        auto [it, fresh] = seen_ids.emplace(item.problem.id, where);
        if (!fresh) fail(where, "id \"" + item.problem.id + "\" repeats " + it->second);

        // options
        const json* options = nullptr;
        if (!f.options.empty()) {
            auto o = obj.find(f.options);
            if (o != obj.end() && !o->is_null()) options = &*o;
        }
        const int mc = options ? 1 : 0;
        if (mc_state == -1) {
            mc_state = mc;
            first_where = where;
        } else if (mc != mc_state) {
            fail(where, mc ? "has \"" + f.options + "\" but " + first_where +
                                 " has none (a dataset is all multiple-choice or all free-answer)"
                           : "has no \"" + f.options + "\" but " + first_where +
                                 " has (a dataset is all multiple-choice or all free-answer)");
        }

        if (options) {
            if (!options->is_object())
                fail(where, "field \"" + f.options + "\" must be an object of letter -> text, got " +
                                json_type_name(*options));
            if (options->size() < 2)
                fail(where, "field \"" + f.options + "\" needs at least two options");
            std::vector<std::string> letters;  // sorted (json objects iterate in key order)
            std::vector<std::string> texts;
            for (auto& [k, v] : options->items()) {
                if (blank(k)) fail(where, "field \"" + f.options + "\" has an empty letter");
                if (!v.is_string())
                    fail(where, "option \"" + k + "\" must be a string, got " + json_type_name(v));
                letters.push_back(k);
                texts.push_back(v.get<std::string>());
            }
            size_t gold = letters.size();
            for (size_t j = 0; j < letters.size(); ++j)
                if (letters[j] == answer) gold = j;
            if (gold == letters.size()) {
                std::string list;
                for (auto& l : letters) list += (list.empty() ? "" : ", ") + l;
                fail(where, "answer \"" + answer + "\" is not one of the options (" + list + ")");
            }
            std::vector<size_t> perm(letters.size());
            for (size_t j = 0; j < perm.size(); ++j) perm[j] = j;
            if (opt.shuffle_options) perm = option_permutation(opt.shuffle_seed, index, letters.size());
            for (size_t j = 0; j < letters.size(); ++j) {
                item.problem.choices[letters[j]] = texts[perm[j]];
                item.option_order.push_back(letters[perm[j]]);
                if (perm[j] == gold) item.answer = letters[j];
            }
        } else {
            item.answer = answer;
        }
        ds.items.push_back(std::move(item));
    }

    void parse_array(std::string_view text) {
        json doc;
        try {
            doc = json::parse(text.begin(), text.end());
        } catch (const json::exception& e) {  // parse errors, and numbers out of range (1e400)
            throw Error(origin + ": not valid JSON: " + e.what());
        }
        if (!doc.is_array())
            throw Error(origin + ": expected a JSON array of items, got " + json_type_name(doc));
        for (size_t i = 0; i < doc.size(); ++i) add(doc[i], origin + ": item " + std::to_string(i));
    }

    void parse_jsonl(std::string_view text) {
        size_t line_no = 0, pos = 0;
        while (pos <= text.size()) {
            size_t end = text.find('\n', pos);
            if (end == std::string_view::npos) end = text.size();
            std::string_view line = text.substr(pos, end - pos);
            pos = end + 1;
            ++line_no;
            if (blank(line)) {
                if (end == text.size()) break;
                continue;
            }
            const std::string where = origin + ":" + std::to_string(line_no);
            json obj;
            try {
                obj = json::parse(line.begin(), line.end());
            } catch (const json::exception& e) {  // parse errors, and numbers out of range (1e400)
                // A pretty-printed single object is a common mistake: say so.
                if (ds.items.empty() && json::accept(text.begin(), text.end()))
                    throw Error(origin + ": the file holds one JSON value (" +
                                std::string(json_type_name(json::parse(text.begin(), text.end()))) +
                                "); expected a JSON array of items or JSON Lines (one object per line)");
                throw Error(where + ": not valid JSON: " + e.what());
            }
            add(obj, where);
            if (end == text.size()) break;
        }
    }
};

}  // namespace

std::vector<std::string> benchmark_names() {
    std::vector<std::string> v;
    for (const auto& b : kBenchmarks) v.emplace_back(b.name);
    return v;
}

bool is_benchmark_name(const std::string& name) {
    for (const auto& b : kBenchmarks)
        if (name == b.name) return true;
    return false;
}

std::string benchmark_file(const std::string& name) {
    for (const auto& b : kBenchmarks)
        if (name == b.name) return b.file;
    throw Error("unknown benchmark '" + name + "' (known: " + known_names() + ")");
}

std::vector<size_t> option_permutation(uint64_t seed, uint64_t index, size_t n) {
    std::vector<size_t> perm(n);
    for (size_t j = 0; j < n; ++j) perm[j] = j;
    Rng rng(mix_seed({seed, index}));
    for (size_t j = n; j > 1; --j) {
        const size_t k = static_cast<size_t>(rng.below(j));
        std::swap(perm[j - 1], perm[k]);
    }
    return perm;
}

Dataset parse_dataset(std::string_view text, const std::string& origin, const std::string& name,
                      const DatasetOptions& options) {
    Loader L{origin, name, options, {}, {}, -1, {}};
    L.ds.name = name;
    L.ds.path = origin;
    L.ds.shuffle_seed = options.shuffle_seed;
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM
    const size_t first = text.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string_view::npos) throw Error(origin + ": the file is empty");
    if (text[first] == '[')
        L.parse_array(text);
    else
        L.parse_jsonl(text);
    if (L.ds.items.empty()) throw Error(origin + ": no items");
    L.ds.multiple_choice = L.mc_state == 1;
    L.ds.shuffled = L.ds.multiple_choice && options.shuffle_options;
    return std::move(L.ds);
}

Dataset load_dataset(const std::string& path_or_name, const DatasetOptions& options) {
    std::string path, name;
    if (is_benchmark_name(path_or_name)) {
        const std::string file = benchmark_file(path_or_name);
        if (options.data_dir.empty())
            throw Error("benchmark '" + path_or_name + "' needs --data-dir (the folder holding " +
                        file + ")");
        path = (fs::path(options.data_dir) / file).string();
        name = path_or_name;
        std::error_code ec;
        if (!fs::is_regular_file(path, ec))
            throw Error("benchmark '" + path_or_name + "': file not found: " + path +
                        " (run `leap data fetch " + options.data_dir +
                        "` or copy the reference files there)");
    } else {
        path = path_or_name;
        name = fs::path(path).stem().string();
        std::error_code ec;
        if (!fs::exists(path, ec))
            throw Error("dataset '" + path_or_name + "' is neither a benchmark name (" +
                        known_names() + ") nor an existing file");
        if (fs::is_directory(path, ec))
            throw Error("dataset '" + path_or_name + "' is a directory, not a .json/.jsonl file");
    }
    // A FIFO or a device would block the read (or never end): only regular files are datasets.
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw Error("dataset '" + path + "' is not a regular file (a FIFO, socket or device?); give a .json/.jsonl file");
    if (fs::file_size(path, ec) > kMaxDatasetBytes)
        throw Error("dataset '" + path + "' is " + std::to_string(fs::file_size(path, ec)) + " bytes; leap reads datasets of at most " +
                    std::to_string(kMaxDatasetBytes >> 20) + " MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read dataset file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error("cannot read dataset file " + path);
    return parse_dataset(ss.str(), path, name, options);
}

}  // namespace leap
