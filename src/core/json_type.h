#pragma once
// The kind of a JSON value in words, for errors that say what was found ("got an array").
#include <nlohmann/json.hpp>

namespace leap {

inline const char* json_type_name(const nlohmann::json& j) {
    using t = nlohmann::json::value_t;
    switch (j.type()) {
        case t::null: return "null";
        case t::object: return "an object";
        case t::array: return "an array";
        case t::string: return "a string";
        case t::boolean: return "a boolean";
        case t::number_integer:
        case t::number_unsigned: return "an integer";
        case t::number_float: return "a number";
        default: return "an unsupported value";
    }
}

}  // namespace leap
