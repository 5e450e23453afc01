#include "core/stop.h"

#include <algorithm>

namespace leap {

std::optional<StopMatch> find_stop(std::string_view text, size_t new_from,
                                   const std::vector<std::string>& stops) {
    std::optional<StopMatch> best;
    for (int i = 0; i < (int)stops.size(); ++i) {
        const std::string& s = stops[i];
        if (s.empty()) continue;
        // A match ending after new_from starts at or after new_from - (|s| - 1).
        const size_t from = new_from >= s.size() - 1 ? new_from - (s.size() - 1) : 0;
        const size_t pos = text.find(s, from);
        if (pos == std::string_view::npos) continue;
        if (!best || pos < best->pos || (pos == best->pos && s.size() > best->len))
            best = StopMatch{pos, i, s.size()};
    }
    return best;
}

}  // namespace leap
