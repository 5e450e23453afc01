#pragma once
// One exception type for every user-facing failure: the message names the culprit
// (file, item, parameter) and the CLI prints it as "leap: error: <message>".
#include <stdexcept>
#include <string>

namespace leap {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace leap
