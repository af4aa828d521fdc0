#pragma once
// LinkJson: the INFO or CONNECT of a route, leafnode or gateway peer, read field by field.
// A field of the wrong type reads as absent: a peer that sends `"headers":"yes"` or
// `"port":1e99` gets the default, never an exception out of the link (which would take the
// node down). Pure; used on the thread of the link that received the line.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::core {

class LinkJson {
 public:
  // Empty when the text is not a JSON object.
  static std::optional<LinkJson> Parse(std::string_view text);

  bool Has(const char* key) const { return json_.contains(key); }
  std::string Text(const char* key) const;
  bool Flag(const char* key) const;
  // An integer that fits in int32; `fallback` otherwise.
  int Integer(const char* key, int fallback) const;
  // The strings of an array (other elements skipped).
  std::vector<std::string> Texts(const char* key) const;

 private:
  explicit LinkJson(nlohmann::json json) : json_(std::move(json)) {}
  nlohmann::json json_;
};

}  // namespace tern::core
