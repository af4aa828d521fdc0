#include "core/conf.h"

#include "core/units.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tern::core {
namespace {

class ConfParser {
 public:
  ConfParser(std::string text, std::string file, int depth)
      : text_(std::move(text)), file_(std::move(file)), depth_(depth) {}

  bool ParseDocument(ConfValue* root, std::vector<const ConfValue*>* scopes, std::string* error) {
    root->type = ConfValue::Type::kMap;
    root->file = file_;
    root->line = 1;
    root->column = 1;
    scopes_ = scopes;
    scopes_->push_back(root);
    // A whole file may be one block, JSON-style: { "port": 4222 }.
    SkipSpace(true);
    bool ok;
    if (Peek() == '{') {
      Advance();
      ok = ParseEntries(root, '}', error);
      SkipSpace(true);
      if (ok && !AtEnd()) ok = Fail(error, "unexpected text after the closing '}'");
    } else {
      ok = ParseEntries(root, '\0', error);
    }
    scopes_->pop_back();
    return ok;
  }

 private:
  bool Fail(std::string* error, const std::string& what) {
    *error = file_ + ":" + std::to_string(line_) + ":" + std::to_string(column_) + ": " + what;
    return false;
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void Advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  // Skips blanks and comments; with newlines=true also newlines, commas and semicolons.
  void SkipSpace(bool newlines) {
    while (!AtEnd()) {
      const char c = Peek();
      if (c == ' ' || c == '\t' || c == '\r' || (newlines && (c == '\n' || c == ',' || c == ';'))) {
        Advance();
      } else if (c == '#' || (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/')) {
        while (!AtEnd() && Peek() != '\n') Advance();
      } else {
        return;
      }
    }
  }

  bool ParseEntries(ConfValue* map, char close, std::string* error) {
    while (true) {
      SkipSpace(true);
      if (AtEnd()) {
        if (close != '\0') return Fail(error, std::string("missing '") + close + "'");
        return true;
      }
      if (Peek() == close) {
        Advance();
        return true;
      }
      const int key_line = line_;
      const int key_column = column_;
      std::string key;
      if (!ParseKey(&key, error)) return false;
      SkipSpace(false);
      if (key == "include") {
        if (!ParseInclude(map, error)) return false;
        continue;
      }
      if (Peek() == ':' || Peek() == '=') {
        Advance();
        SkipSpace(false);
      }
      if (AtEnd() || Peek() == '\n') return Fail(error, "missing value for key '" + key + "'");
      ConfValue value;
      value.file = file_;
      value.line = key_line;
      value.column = key_column;
      if (!ParseValue(&value, error)) return false;
      map->map.push_back(ConfEntry{key, std::move(value)});
    }
  }

  bool ParseKey(std::string* key, std::string* error) {
    if (Peek() == '"' || Peek() == '\'') return ParseQuoted(key, error);
    while (!AtEnd()) {
      const char c = Peek();
      if (std::isspace(static_cast<unsigned char>(c)) || c == ':' || c == '=' || c == '{' ||
          c == '[' || c == '#')
        break;
      key->push_back(c);
      Advance();
    }
    if (key->empty()) return Fail(error, std::string("unexpected '") + Peek() + "'");
    return true;
  }

  bool ParseQuoted(std::string* out, std::string* error) {
    const char quote = Peek();
    Advance();
    while (!AtEnd() && Peek() != quote) {
      char c = Peek();
      if (c == '\n') return Fail(error, "unterminated string");
      if (c == '\\' && quote == '"') {
        Advance();
        if (AtEnd()) break;
        c = Peek();
        switch (c) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          default:
            break;
        }
      }
      out->push_back(c);
      Advance();
    }
    if (AtEnd()) return Fail(error, "unterminated string");
    Advance();
    return true;
  }

  bool ParseValue(ConfValue* value, std::string* error) {
    const char c = Peek();
    if (c == '{') {
      Advance();
      value->type = ConfValue::Type::kMap;
      scopes_->push_back(value);
      const bool ok = ParseEntries(value, '}', error);
      scopes_->pop_back();
      return ok;
    }
    if (c == '[') {
      Advance();
      value->type = ConfValue::Type::kArray;
      while (true) {
        SkipSpace(true);
        if (AtEnd()) return Fail(error, "missing ']'");
        if (Peek() == ']') {
          Advance();
          return true;
        }
        ConfValue element;
        element.file = file_;
        element.line = line_;
        element.column = column_;
        if (!ParseValue(&element, error)) return false;
        value->array.push_back(std::move(element));
      }
    }
    if (c == '"' || c == '\'') {
      value->type = ConfValue::Type::kString;
      return ParseQuoted(&value->text, error);
    }
    std::string raw;
    while (!AtEnd()) {
      const char d = Peek();
      if (d == '\n' || d == ',' || d == ';' || d == '}' || d == ']' || d == '#') break;
      raw.push_back(d);
      Advance();
    }
    while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.back()))) raw.pop_back();
    if (raw.empty()) return Fail(error, "missing value");
    if (raw[0] == '$') return ResolveVariable(raw.substr(1), value, error);
    Interpret(raw, value);
    return true;
  }

  bool ResolveVariable(const std::string& name, ConfValue* value, std::string* error) {
    for (auto scope = scopes_->rbegin(); scope != scopes_->rend(); ++scope) {
      if (const ConfValue* found = (*scope)->Find(name)) {
        const int line = value->line;
        const int column = value->column;
        *value = *found;
        value->line = line;
        value->column = column;
        return true;
      }
    }
    if (const char* env = std::getenv(name.c_str())) {
      Interpret(env, value);
      return true;
    }
    // As nats-server: an unquoted bcrypt hash ("$2a$10$...", as `nats server passwd`
    // prints it) is not a variable but the string itself.
    if (name.rfind("2a$", 0) == 0 || name.rfind("2b$", 0) == 0 || name.rfind("2y$", 0) == 0) {
      value->type = ConfValue::Type::kString;
      value->text = "$" + name;
      return true;
    }
    return Fail(error, "variable reference for '" + name + "' on line " +
                           std::to_string(value->line) + " can not be found");
  }

  bool ParseInclude(ConfValue* map, std::string* error) {
    std::string name;
    if (Peek() == '"' || Peek() == '\'') {
      if (!ParseQuoted(&name, error)) return false;
    } else {
      while (!AtEnd() && !std::isspace(static_cast<unsigned char>(Peek()))) {
        name.push_back(Peek());
        Advance();
      }
    }
    if (name.empty()) return Fail(error, "include needs a file name");
    if (depth_ > 10) return Fail(error, "includes nested too deep");
    std::string path = name;
    const auto slash = file_.rfind('/');
    if (name[0] != '/' && slash != std::string::npos) path = file_.substr(0, slash + 1) + name;
    std::ifstream in(path);
    if (!in) return Fail(error, "cannot open included file " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    ConfParser nested(buffer.str(), path, depth_ + 1);
    nested.scopes_ = scopes_;
    return nested.ParseEntries(map, '\0', error);
  }

  static void Interpret(const std::string& raw, ConfValue* value) {
    value->text = raw;
    std::string lower;
    for (char c : raw)
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower == "true" || lower == "yes" || lower == "on") {
      value->type = ConfValue::Type::kBool;
      value->boolean = true;
      return;
    }
    if (lower == "false" || lower == "no" || lower == "off") {
      value->type = ConfValue::Type::kBool;
      value->boolean = false;
      return;
    }
    // Out of range (or a unit that overflows): not a number, so the setting reading it
    // reports "expects a number".
    int64_t size = 0;
    if (ParseSize(raw, &size)) {
      value->type = ConfValue::Type::kInteger;
      value->integer = size;
      return;
    }
    // Else a number with a fraction or an exponent (it starts as a whole one does).
    char* end = nullptr;
    std::strtoll(raw.c_str(), &end, 10);
    if (end != raw.c_str()) {
      const double number = std::strtod(raw.c_str(), &end);
      if (*end == '\0') {
        value->type = ConfValue::Type::kFloat;
        value->number = number;
        return;
      }
    }
    value->type = ConfValue::Type::kString;  // durations like 2m30s land here too
  }

  std::string text_;
  std::string file_;
  int depth_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
  std::vector<const ConfValue*>* scopes_ = nullptr;
};

}  // namespace

const ConfValue* ConfValue::Find(const std::string& key) const {
  for (auto it = map.rbegin(); it != map.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

std::string ConfText(const ConfValue& value) {
  switch (value.type) {
    case ConfValue::Type::kMap: {
      std::string out = "{";
      for (const auto& [key, child] : value.map) out += key + ":" + ConfText(child) + ";";
      return out + "}";
    }
    case ConfValue::Type::kArray: {
      std::string out = "[";
      for (const ConfValue& child : value.array) out += ConfText(child) + ",";
      return out + "]";
    }
    case ConfValue::Type::kString:
      return "\"" + value.text + "\"";
    default:
      return value.text;
  }
}

std::string ConfValue::Where() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

bool ParseConfText(const std::string& text, const std::string& name, ConfValue* root,
                   std::string* error) {
  std::vector<const ConfValue*> scopes;
  ConfParser parser(text, name, 0);
  return parser.ParseDocument(root, &scopes, error);
}

bool ParseConfFile(const std::string& path, ConfValue* root, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open config file " + path;
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfText(buffer.str(), path, root, error);
}

bool ConfFail(const ConfValue& value, const std::string& what, std::string* error) {
  *error = value.Where() + ": " + what;
  return false;
}

bool ConfString(const ConfValue& value, const std::string& key, std::string* out,
                std::string* error) {
  if (value.type == ConfValue::Type::kMap || value.type == ConfValue::Type::kArray) {
    return ConfFail(value, "'" + key + "' expects a string", error);
  }
  *out = value.text;
  return true;
}

std::vector<const ConfValue*> ConfItems(const ConfValue& value) {
  std::vector<const ConfValue*> items;
  if (value.type == ConfValue::Type::kArray) {
    for (const ConfValue& item : value.array) items.push_back(&item);
  } else {
    items.push_back(&value);
  }
  return items;
}

}  // namespace tern::core
