// `leap route`: runs a router on summaries given as JSON on stdin, prints the choice as JSON.
// Handy for checking a router by hand and for scripts that compare against the reference.
//   in:  {"summaries": [...], "router": "dispersed", "k": 2, "similarity": "indel", "seed": 0,
//         "active": [true, ...], "reference_parity": false,
//         "confidence": [...]}   (all but "summaries" optional; "confidence": the confident routers')
//   out: {"peers": [[j, ...], ...], "scores": [[s, ...], ...]}
#include <algorithm>
#include <climits>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/router.h"

namespace leap::cli {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& key, const std::string& want, const json& got) {
    std::string shown = got.dump(-1, ' ', true, json::error_handler_t::replace);
    if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
    throw Error("route: \"" + key + "\" must be " + want + ", got " + shown);
}

std::string get_string(const json& in, const std::string& key, const std::string& dflt) {
    if (!in.contains(key)) return dflt;
    const json& v = in.at(key);
    if (!v.is_string()) bad(key, "a string", v);
    return v.get<std::string>();
}

bool get_bool(const json& in, const std::string& key, bool dflt) {
    if (!in.contains(key)) return dflt;
    const json& v = in.at(key);
    if (!v.is_boolean()) bad(key, "true or false", v);
    return v.get<bool>();
}

RouterOptions parse_options(const json& in) {
    RouterOptions opt;
    // Names are checked through the core parsers so the message lists the valid choices.
    const auto named = [&](const char* key, auto parse, auto dflt) {
        const std::string s = get_string(in, key, std::string(to_string(dflt)));
        try {
            return parse(s);
        } catch (const Error& e) {
            throw Error(std::string("route: \"") + key + "\": " + e.what());
        }
    };
    opt.kind = named("router", parse_router, opt.kind);
    opt.similarity = named("similarity", parse_similarity, opt.similarity);
    if (in.contains("k")) {
        const json& v = in.at("k");
        // Non-negative integers parse as unsigned, negative ones as signed: check each range.
        const bool ok = v.is_number_unsigned()  ? v.get<uint64_t>() >= 1 && v.get<uint64_t>() <= INT_MAX
                        : v.is_number_integer() ? v.get<int64_t>() >= 1 && v.get<int64_t>() <= INT_MAX
                                                : false;
        if (!ok) bad("k", "a positive integer", v);
        opt.k = static_cast<int>(v.get<int64_t>());
    }
    if (in.contains("seed")) {
        const json& v = in.at("seed");
        if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0))
            bad("seed", "a non-negative integer", v);
        opt.seed = v.get<uint64_t>();
    }
    opt.reference_parity = get_bool(in, "reference_parity", false);
    // The confident routers rank peers by each path's confidence (docs/adaptive.md).
    if (in.contains("confidence")) {
        const json& v = in.at("confidence");
        if (!v.is_array()) bad("confidence", "an array of numbers, one per summary", v);
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_number()) bad("confidence[" + std::to_string(i) + "]", "a number", v[i]);
            opt.confidence.push_back(v[i].get<double>());
        }
    }
    return opt;
}

void run_route() {
    const std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    json in;
    try {
        in = json::parse(text);
    } catch (const json::exception& e) {
        throw Error(std::string("route: stdin is not valid JSON: ") + e.what());
    }
    if (!in.is_object()) throw Error("route: stdin must hold a JSON object, got a JSON " + std::string(in.type_name()));
    static const char* const known[] = {"summaries", "router", "k", "similarity", "seed", "active",
                                        "reference_parity", "confidence"};
    for (const auto& item : in.items()) {
        if (std::find(std::begin(known), std::end(known), item.key()) == std::end(known))
            throw Error("route: unknown key \"" + item.key() +
                        "\" (known: summaries, router, k, similarity, seed, active, reference_parity, "
                        "confidence)");
    }

    if (!in.contains("summaries")) throw Error("route: missing \"summaries\" (an array of strings)");
    const json& js = in.at("summaries");
    if (!js.is_array()) bad("summaries", "an array of strings", js);
    std::vector<std::string> summaries;
    for (size_t i = 0; i < js.size(); ++i) {
        if (!js[i].is_string()) bad("summaries[" + std::to_string(i) + "]", "a string", js[i]);
        summaries.push_back(js[i].get<std::string>());
    }

    std::vector<bool> active(summaries.size(), true);
    if (in.contains("active")) {
        const json& ja = in.at("active");
        if (!ja.is_array()) bad("active", "an array of booleans", ja);
        if (ja.size() != summaries.size())
            throw Error("route: \"active\" has " + std::to_string(ja.size()) + " entries but \"summaries\" has " +
                        std::to_string(summaries.size()));
        for (size_t i = 0; i < ja.size(); ++i) {
            if (!ja[i].is_boolean()) bad("active[" + std::to_string(i) + "]", "true or false", ja[i]);
            active[i] = ja[i].get<bool>();
        }
    }

    const RouterOptions opt = parse_options(in);
    const auto routes = route(summaries, active, opt);

    json peers = json::array(), scores = json::array();
    for (const auto& r : routes) {
        json p = json::array(), s = json::array();
        for (const auto& c : r) {
            p.push_back(c.peer);
            s.push_back(c.score);
        }
        peers.push_back(std::move(p));
        scores.push_back(std::move(s));
    }
    json out = json::object();
    out["peers"] = std::move(peers);
    out["scores"] = std::move(scores);
    std::cout << out.dump() << '\n';
    std::cout.flush();
    if (!std::cout) throw Error("route: failed to write to stdout");
}

}  // namespace

void register_route(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "route", "Run a router on summaries read as JSON from stdin; print chosen peers and scores as JSON");
    cmd->footer(
        "Input:  {\"summaries\": [\"..\", ...], \"router\": \"dispersed\", \"k\": 2, \"similarity\": \"indel\",\n"
        "         \"seed\": 0, \"active\": [true, ...], \"reference_parity\": false, \"confidence\": [c, ...]}\n"
        "        (only \"summaries\" required; \"confidence\": one per summary, for the confident routers)\n"
        "Output: {\"peers\": [[j, ...], ...], \"scores\": [[s, ...], ...]}");
    cmd->callback(run_route);
}

}  // namespace leap::cli
