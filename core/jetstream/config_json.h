#pragma once
// Typed reads of JSON request fields for the config parsers: a field of the wrong type
// makes the whole request "invalid JSON" (10025), as Go's decoder does. Pure functions.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::core::js {

// Each returns false when the field is present with another type; absent/null keeps *out.
bool ReadInt(const nlohmann::json& obj, const char* key, int64_t* out);
bool ReadBool(const nlohmann::json& obj, const char* key, bool* out);
bool ReadString(const nlohmann::json& obj, const char* key, std::string* out);
bool ReadStrings(const nlohmann::json& obj, const char* key, std::vector<std::string>* out);

// Parses JSON from a client, refusing nesting deeper than kMaxJsonDepth: deeper documents
// would exhaust a shard's stack when copied (nlohmann copies recursively). The result is
// discarded (is_discarded()) when the text is not JSON or too deep.
inline constexpr int kMaxJsonDepth = 64;
nlohmann::json ParseClientJson(std::string_view text);
// An API request body: empty means {}; otherwise it must be a JSON object.
bool ParseRequestBody(const std::string& payload, nlohmann::json* out);

// A number field, or `fallback` when absent or of another type (for files Tern wrote).
int64_t IntOr(const nlohmann::json& obj, const char* key, int64_t fallback);

// Serialises JSON for the wire or a file. Strings from clients (subjects, header values)
// may be invalid UTF-8: they are replaced (U+FFFD), never thrown on.
std::string Dump(const nlohmann::json& j);

// Stream and consumer names: non-empty, no '.', '*', '>', whitespace or path separators.
bool IsValidName(const std::string& name);

// Random letters and digits: ephemeral consumer names and internal subject tokens (8),
// event ids (22, as long as a NUID).
std::string RandomName(std::size_t length = 8);

}  // namespace tern::core::js
