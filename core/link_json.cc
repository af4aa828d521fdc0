#include "core/link_json.h"

#include <limits>

namespace tern::core {

std::optional<LinkJson> LinkJson::Parse(std::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  return LinkJson(std::move(json));
}

std::string LinkJson::Text(const char* key) const {
  auto it = json_.find(key);
  return it != json_.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool LinkJson::Flag(const char* key) const {
  auto it = json_.find(key);
  return it != json_.end() && it->is_boolean() && it->get<bool>();
}

int LinkJson::Integer(const char* key, int fallback) const {
  auto it = json_.find(key);
  if (it == json_.end()) return fallback;
  if (it->is_number_unsigned()) {
    const uint64_t value = it->get<uint64_t>();
    return value <= static_cast<uint64_t>(std::numeric_limits<int>::max()) ? static_cast<int>(value)
                                                                           : fallback;
  }
  if (it->is_number_integer()) {
    const int64_t value = it->get<int64_t>();
    return value >= std::numeric_limits<int>::min() && value <= std::numeric_limits<int>::max()
               ? static_cast<int>(value)
               : fallback;
  }
  return fallback;
}

std::vector<std::string> LinkJson::Texts(const char* key) const {
  std::vector<std::string> texts;
  auto it = json_.find(key);
  if (it == json_.end() || !it->is_array()) return texts;
  for (const auto& element : *it) {
    if (element.is_string()) texts.push_back(element.get<std::string>());
  }
  return texts;
}

}  // namespace tern::core
