#pragma once
// SubjectTrie<Leaf>: subject patterns ('*', '>') organised by token, with a Leaf of
// caller-defined contents at every pattern. Match() visits the leaf of every pattern that
// matches a literal subject. Only nodes that end a pattern hold a Leaf (allocated apart):
// the tokens on the way to it cost a node without one, which matters with many
// subscriptions on long unique subjects, held by every shard. Ownership: one shard; not
// thread-safe.
#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/strings.h"
#include "core/subject.h"

namespace tern::core {

template <typename Leaf>  // Leaf must provide bool Empty() const
class SubjectTrie {
 public:
  // Returns the leaf for the pattern, creating the path if needed.
  Leaf& Insert(std::string_view pattern) {
    Level* level = &root_;
    Node* node = nullptr;
    ForEachToken(pattern, [&](std::string_view token) {
      node = ChildFor(level, token);
      level = &node->next;
    });
    if (!node->leaf) node->leaf = std::make_unique<Leaf>();
    return *node->leaf;
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
    return missing || node == nullptr ? nullptr : node->leaf.get();
  }

  // Removes the nodes along the pattern's path that hold nothing any more. Any number of
  // tokens: a path that Insert() made can always be pruned (no fixed-size token array).
  void Prune(std::string_view pattern) {
    absl::InlinedVector<std::pair<Level*, std::string_view>, 16> path;
    Level* level = &root_;
    bool missing = false;
    ForEachToken(pattern, [&](std::string_view token) {
      if (missing) return;
      Node* node = ExistingChild(level, token);
      if (node == nullptr) {
        missing = true;
        return;
      }
      path.emplace_back(level, token);
      level = &node->next;
    });
    // Deepest first: a node goes once its leaf and everything below it are empty. The
    // pattern's own empty leaf goes even when the node stays (it has children).
    if (!missing && !path.empty()) {
      auto [parent, token] = path.back();
      std::unique_ptr<Leaf>& leaf = (*Slot(parent, token, false))->leaf;
      if (leaf && leaf->Empty()) leaf.reset();
    }
    for (std::size_t i = path.size(); i-- > 0;) {
      auto [parent, token] = path[i];
      std::unique_ptr<Node>* slot = Slot(parent, token, false);
      if ((*slot)->leaf || !(*slot)->next.Empty()) break;
      if (token == "*" || token == ">") {
        slot->reset();
      } else {
        parent->literal.erase(AbslView(token));
      }
    }
  }

  // Calls fn(const Leaf&) for every pattern matching the literal subject, however many
  // tokens it has. Iterative (an explicit stack of branches), so a subject of thousands of
  // tokens cannot exhaust the thread's stack.
  template <typename Fn>
  void Match(std::string_view subject, Fn&& fn) const {
    if (subject.empty()) return;
    // Each entry: a level and the offset in `subject` of the token it must match.
    absl::InlinedVector<std::pair<const Level*, std::size_t>, 8> pending;
    pending.emplace_back(&root_, 0);
    while (!pending.empty()) {
      auto [level, start] = pending.back();
      pending.pop_back();
      while (level != nullptr) {
        if (level->tail && level->tail->leaf) fn(*level->tail->leaf);
        const std::size_t dot = subject.find('.', start);
        const bool last = dot == std::string_view::npos;
        const std::string_view token =
            subject.substr(start, last ? std::string_view::npos : dot - start);
        if (level->star) {
          if (last) {
            if (level->star->leaf) fn(*level->star->leaf);
          } else {
            pending.emplace_back(&level->star->next, dot + 1);
          }
        }
        auto it = level->literal.find(AbslView(token));
        if (it == level->literal.end()) break;
        if (last) {
          if (it->second->leaf) fn(*it->second->leaf);
          break;
        }
        level = &it->second->next;
        start = dot + 1;
      }
    }
  }

  // True when no pattern is held (every path was pruned).
  bool Empty() const { return root_.Empty(); }

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
    std::unique_ptr<Leaf> leaf;  // null on a node that ends no pattern
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

  template <typename Fn>
  static void Walk(const Level& level, std::string* prefix, Fn& fn) {
    auto visit = [&](std::string_view token, const Node& node) {
      const std::size_t saved = prefix->size();
      if (!prefix->empty()) prefix->push_back('.');
      prefix->append(token);
      if (node.leaf && !node.leaf->Empty()) fn(std::string_view(*prefix), *node.leaf);
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
