#include "core/jetstream/config_json.h"

#include <random>

namespace tern::core::js {

bool ReadInt(const nlohmann::json& obj, const char* key, int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_number_integer()) return false;
  *out = it->get<int64_t>();
  return true;
}

bool ReadBool(const nlohmann::json& obj, const char* key, bool* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_boolean()) return false;
  *out = it->get<bool>();
  return true;
}

bool ReadString(const nlohmann::json& obj, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool ReadStrings(const nlohmann::json& obj, const char* key, std::vector<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_array()) return false;
  out->clear();
  for (const auto& item : *it) {
    if (!item.is_string()) return false;
    out->push_back(item.get<std::string>());
  }
  return true;
}

nlohmann::json ParseClientJson(std::string_view text) {
  // Count bracket depth outside strings first: cheap, and nothing deep is ever built.
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return nlohmann::json(nlohmann::json::value_t::discarded);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return nlohmann::json::parse(text, nullptr, false);
}

bool ParseRequestBody(const std::string& payload, nlohmann::json* out) {
  if (payload.empty()) {
    *out = nlohmann::json::object();
    return true;
  }
  *out = ParseClientJson(payload);
  return !out->is_discarded() && out->is_object();
}

int64_t IntOr(const nlohmann::json& obj, const char* key, int64_t fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (c == '.' || c == '*' || c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
        c == '/' || c == '\\' || c == '\0')
      return false;
  }
  return name != "." && name != "..";
}

std::string RandomName(std::size_t length) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string name(length, 'x');
  for (char& c : name) c = kChars[rng() % (sizeof kChars - 1)];
  return name;
}

}  // namespace tern::core::js
