#pragma once
// SubjectTrie<Leaf>: subject patterns ('*', '>') organised by token, with a Leaf of
// caller-defined contents at every pattern. Match() visits the leaf of every pattern that
// matches a literal subject. Ownership: one shard; not thread-safe.
#include <absl/container/flat_hash_map.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/strings.h"
#include "core/subject.h"

namespace tern::core {

template <typename Leaf>  // Leaf must provide bool Empty() const
class SubjectTrie {
 public:
  static constexpr std::size_t kMaxTokens = 256;

  // Returns the leaf for the pattern, creating the path if needed.
  Leaf& Insert(std::string_view pattern) {
    Level* level = &root_;
    Node* node = nullptr;
    ForEachToken(pattern, [&](std::string_view token) {
      node = ChildFor(level, token);
      level = &node->next;
    });
    return node->leaf;
  }

  // Returns the pattern's leaf or nullptr.
  Leaf* Find(std::string_view pattern) {
    Level* level = &root_;
    Node* node = nullptr;
    bool missing = false;
    ForEachToken(pattern, [&](std::string_view token) {
      if (missing) return;
      node = ExistingChild(level, token);
      if (node == nullptr) {
        missing = true;
      } else {
        level = &node->next;
      }
    });
    return missing || node == nullptr ? nullptr : &node->leaf;
  }

  // Removes the nodes along the pattern's path that hold nothing any more.
  void Prune(std::string_view pattern) {
    std::string_view tokens[kMaxTokens];
    const std::size_t n = Tokenize(pattern, tokens, kMaxTokens);
    if (n > kMaxTokens) return;
    PruneLevel(&root_, tokens, n);
  }

  // Calls fn(const Leaf&) for every pattern matching the literal subject.
  template <typename Fn>
  void Match(std::string_view subject, Fn&& fn) const {
    std::string_view tokens[kMaxTokens];
    const std::size_t n = Tokenize(subject, tokens, kMaxTokens);
    if (n == 0 || n > kMaxTokens) return;
    MatchLevel(root_, tokens, n, fn);
  }

  // Calls fn(pattern, const Leaf&) for every non-empty leaf (monitoring, tests).
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::string prefix;
    Walk(root_, &prefix, fn);
  }

 private:
  struct Node;
  struct Level {
    absl::flat_hash_map<std::string, std::unique_ptr<Node>> literal;
    std::unique_ptr<Node> star;  // '*'
    std::unique_ptr<Node> tail;  // '>'
    bool Empty() const { return literal.empty() && !star && !tail; }
  };
  struct Node {
    Level next;
    Leaf leaf;
  };

  template <typename Fn>
  static void ForEachToken(std::string_view pattern, Fn&& fn) {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= pattern.size(); ++i) {
      if (i == pattern.size() || pattern[i] == '.') {
        fn(pattern.substr(start, i - start));
        start = i + 1;
      }
    }
  }

  static std::unique_ptr<Node>* Slot(Level* level, std::string_view token, bool create) {
    if (token == "*") return &level->star;
    if (token == ">") return &level->tail;
    auto it = level->literal.find(AbslView(token));
    if (it != level->literal.end()) return &it->second;
    if (!create) return nullptr;
    return &level->literal[std::string(token)];
  }

  static Node* ChildFor(Level* level, std::string_view token) {
    std::unique_ptr<Node>* slot = Slot(level, token, true);
    if (!*slot) *slot = std::make_unique<Node>();
    return slot->get();
  }

  static Node* ExistingChild(Level* level, std::string_view token) {
    std::unique_ptr<Node>* slot = Slot(level, token, false);
    return slot == nullptr ? nullptr : slot->get();
  }

  // Returns true if the level is now empty.
  static bool PruneLevel(Level* level, const std::string_view* tokens, std::size_t n) {
    std::unique_ptr<Node>* slot = Slot(level, tokens[0], false);
    if (slot == nullptr || !*slot) return level->Empty();
    Node* node = slot->get();
    if (n > 1) PruneLevel(&node->next, tokens + 1, n - 1);
    if (node->leaf.Empty() && node->next.Empty()) {
      if (tokens[0] == "*" || tokens[0] == ">") {
        slot->reset();
      } else {
        level->literal.erase(AbslView(tokens[0]));
      }
    }
    return level->Empty();
  }

  template <typename Fn>
  static void MatchLevel(const Level& level, const std::string_view* tokens, std::size_t n,
                         Fn& fn) {
    if (level.tail) fn(level.tail->leaf);
    if (level.star) {
      if (n == 1) {
        fn(level.star->leaf);
      } else {
        MatchLevel(level.star->next, tokens + 1, n - 1, fn);
      }
    }
    auto it = level.literal.find(AbslView(tokens[0]));
    if (it != level.literal.end()) {
      if (n == 1) {
        fn(it->second->leaf);
      } else {
        MatchLevel(it->second->next, tokens + 1, n - 1, fn);
      }
    }
  }

  template <typename Fn>
  static void Walk(const Level& level, std::string* prefix, Fn& fn) {
    auto visit = [&](std::string_view token, const Node& node) {
      const std::size_t saved = prefix->size();
      if (!prefix->empty()) prefix->push_back('.');
      prefix->append(token);
      if (!node.leaf.Empty()) fn(std::string_view(*prefix), node.leaf);
      Walk(node.next, prefix, fn);
      prefix->resize(saved);
    };
    for (const auto& [token, node] : level.literal) visit(token, *node);
    if (level.star) visit("*", *level.star);
    if (level.tail) visit(">", *level.tail);
  }

  Level root_;
};

}  // namespace tern::core
