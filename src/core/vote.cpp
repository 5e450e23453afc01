#include "core/vote.h"

#include <map>

#include "core/answer.h"

namespace leap {

VoteResult majority_vote(const std::vector<std::string>& answers, const std::vector<long>* lengths) {
    struct Group { std::vector<int> members; double length = 0; };
    std::map<std::string, Group> groups;
    std::vector<std::string> order;  // group keys by first appearance (lowest index first)
    VoteResult out;
    for (int i = 0; i < (int)answers.size(); ++i) {
        if (answers[i].empty()) continue;
        ++out.voters;
        const std::string key = canonical_answer(answers[i]);
        auto [it, fresh] = groups.try_emplace(key);
        if (fresh) order.push_back(key);
        it->second.members.push_back(i);
        if (lengths) it->second.length += (double)(*lengths)[i];
    }
    const Group* best = nullptr;
    for (const std::string& key : order) {
        const Group& g = groups[key];
        if (!best || g.members.size() > best->members.size()) {
            best = &g;
        } else if (lengths && g.members.size() == best->members.size() &&
                   g.length / g.members.size() < best->length / best->members.size()) {
            best = &g;
        }
    }
    if (best) {
        out.answer = answers[best->members.front()];
        out.votes = (int)best->members.size();
        out.majority = best->members;
    }
    return out;
}

}  // namespace leap
