#pragma once
// Files a command writes where the user pointed (--trace FILE): checked before the work starts,
// so a typo in the path costs no model time, and written without creating folders the user did
// not ask for.
#include <string>

namespace leap::cli {

// Throws leap::Error naming `flag` and the path when `path` cannot be the file to write: its
// folder does not exist (or is not a folder), or the path is a folder itself.
void check_output_file(const std::string& path, const char* flag);

// Writes `text` to `path` through a temporary file in the same folder and a rename (a reader
// never sees half a file). Creates no folder; on failure the temporary file is removed and the
// error names the path.
void write_output_file(const std::string& path, const std::string& text, const char* flag);

}  // namespace leap::cli
