#include "cli/output_file.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace leap::cli {

namespace fs = std::filesystem;

void check_output_file(const std::string& path, const char* flag) {
    const std::string what = std::string(flag) + " '" + path + "'";
    if (path.empty()) throw Error(std::string(flag) + " needs a file name");
    std::error_code ec;
    if (fs::is_directory(path, ec))
        throw Error(what + " is a folder; give a file name, e.g. " + (fs::path(path) / "trace.json").string());
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec))
        throw Error(what + ": folder '" + parent.string() + "' " +
                    (fs::exists(parent, ec) ? "is not a folder" : "does not exist (leap creates no folders for it)"));
}

void write_output_file(const std::string& path, const std::string& text, const char* flag) {
    check_output_file(path, flag);
    const std::string tmp = path + ".tmp";
    std::error_code ec;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(std::string(flag) + ": cannot write '" + tmp + "'");
        out << text;
        if (!out.flush()) {
            out.close();
            fs::remove(tmp, ec);
            throw Error(std::string(flag) + ": cannot write '" + tmp + "' (disk full?)");
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw Error(std::string(flag) + ": cannot write '" + path + "': " + ec.message());
    }
}

}  // namespace leap::cli
