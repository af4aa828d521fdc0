#pragma once
// Typed reads of JSON request fields for the config parsers: a field of the wrong type
// makes the whole request "invalid JSON" (10025), as Go's decoder does. Pure functions.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tern::core::js {

// Each returns false when the field is present with another type; absent/null keeps *out.
bool ReadInt(const nlohmann::json& obj, const char* key, int64_t* out);
bool ReadBool(const nlohmann::json& obj, const char* key, bool* out);
bool ReadString(const nlohmann::json& obj, const char* key, std::string* out);
bool ReadStrings(const nlohmann::json& obj, const char* key, std::vector<std::string>* out);

// Stream and consumer names: non-empty, no '.', '*', '>', whitespace or path separators.
bool IsValidName(const std::string& name);

}  // namespace tern::core::js
