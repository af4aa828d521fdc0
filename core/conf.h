#pragma once
// A parser for the nats-server configuration language: `key: value`, `key = value`,
// `key value`, blocks `{}`, arrays `[]`, `#` and `//` comments, quoted and bare strings,
// numbers with size suffixes (k/kb/m/mb/g/gb), booleans (true/false/yes/no/on/off),
// `include <file>`, and `$VARIABLE` references resolved from enclosing blocks, then the
// environment. Stateless apart from the parse in progress; used at start-up only.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tern::core {

struct ConfEntry;

struct ConfValue {
  enum class Type { kString, kInteger, kFloat, kBool, kMap, kArray };
  Type type = Type::kString;
  std::string text;  // kString: the string; other scalars: the source spelling
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
  // kMap, in file order. (A named pair: std::pair of a still-incomplete type is not allowed.)
  std::vector<ConfEntry> map;
  std::vector<ConfValue> array;
  std::string file;
  int line = 0;
  int column = 0;

  const ConfValue* Find(const std::string& key) const;
  std::string Where() const;  // "file:line:col"
};

struct ConfEntry {
  std::string first;  // the key
  ConfValue second;
};

// The value written out canonically (no positions): equal texts mean equal settings.
std::string ConfText(const ConfValue& value);

// Helpers for the readers of settings blocks. ConfFail sets *error to "file:line:col: what"
// and returns false; ConfString reads a scalar as text (false for a block or a list);
// ConfItems gives a list's items, or the value itself when it is not a list.
bool ConfFail(const ConfValue& value, const std::string& what, std::string* error);
bool ConfString(const ConfValue& value, const std::string& key, std::string* out,
                std::string* error);
std::vector<const ConfValue*> ConfItems(const ConfValue& value);

// Parses a file. On failure returns false with *error naming file, line and column.
bool ParseConfFile(const std::string& path, ConfValue* root, std::string* error);
bool ParseConfText(const std::string& text, const std::string& name, ConfValue* root,
                   std::string* error);

}  // namespace tern::core
