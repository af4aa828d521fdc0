#pragma once
// Interest: everything one shard knows about who wants which subject. Its own
// connections' subscriptions (by pointer) and, for every other shard, which patterns that
// shard has plain subscribers for and how many members each of its queue groups has.
// A bounded match cache sits in front of the trie. Ownership: one shard; never touched
// by another thread (other shards' interest arrives as deltas over the rings).
#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/shard_set.h"
#include "core/strings.h"
#include "core/subject_trie.h"
#include "core/subscription.h"

namespace tern::core {

struct QueueMatch {
  std::string name;
  std::vector<Subscription*> local;
  std::vector<uint32_t> remote;  // members per shard (index = shard)
  uint32_t remote_total = 0;
  // Members behind leafnode links on other shards: picked only when the group has no other
  // member (nats-server prefers a local member to one across a leafnode). Empty if none.
  std::vector<uint32_t> remote_fallback;
  uint32_t remote_fallback_total = 0;
};

// Is this queue member one to fall back to (behind a leafnode link)?
inline bool IsFallbackMember(const Subscription& sub) { return sub.fallback; }

struct MatchResult {
  std::vector<Subscription*> plain;  // local plain subscriptions
  std::vector<QueueMatch> queues;
  ShardSet remote_plain;  // shards with at least one matching plain subscription
  bool Empty() const { return plain.empty() && queues.empty() && !remote_plain.Any(); }
};

// A bounded cache of match results keyed by subject. Eviction is a clock hand over a
// fixed slot array (O(1), no sweeper); invalidation bumps a generation (O(1)).
class MatchCache {
 public:
  explicit MatchCache(std::size_t capacity);
  // A valid cached result, or nullptr.
  MatchResult* Find(std::string_view subject);
  // A slot for the subject, emptied and marked valid; the caller fills it.
  MatchResult* Assign(std::string_view subject);
  void InvalidateAll() { ++generation_; }
  void Invalidate(std::string_view subject);
  std::size_t size() const { return index_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  // Visits every valid cached result (monitoring: fan-out figures).
  template <typename Fn>
  void ForEachValid(Fn&& fn) const {
    for (const Slot& slot : slots_) {
      if (slot.in_use && slot.generation == generation_) fn(slot.result);
    }
  }

 private:
  struct Slot {
    std::string key;
    uint64_t generation = 0;
    bool in_use = false;
    MatchResult result;
  };
  std::vector<Slot> slots_;
  absl::flat_hash_map<absl::string_view, uint32_t> index_;  // views of slots_[i].key
  std::size_t hand_ = 0;
  std::size_t last_hit_ = SIZE_MAX;  // slot of the last Find() hit (checked, not trusted)
  uint64_t generation_ = 1;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

// Told every change of the node's interest: plain subscriptions +1 / -1 per shard-level
// holder, queue members +1 / -1 (a link's member as its weight). `source` is null for
// clients and the server's own subscriptions on any shard, else the link (route, leafnode)
// on shard 0 whose peer asked for it: the cluster sums into RS+ / RS- what its routes must
// be told, the leafnode service into LS+ / LS- what each leafnode link must. Called on
// shard 0's thread.
class InterestExport {
 public:
  // `origin`: the leafnode cluster the interest comes from (a leafnode link's, or what a
  // route said of it), empty if none.
  virtual void OnNodeInterest(uint16_t account, std::string_view subject, std::string_view queue,
                              int32_t delta, const Connection* source, std::string_view origin) = 0;

 protected:
  ~InterestExport() = default;
};

class Interest {
 public:
  Interest(int shard_count, std::size_t cache_capacity = 8192);

  // Adds a local subscription. Returns true if the other shards must be told (+1).
  bool AddLocal(Subscription* sub);
  // Removes it. Returns true if the other shards must be told (-1); *found (if given)
  // whether it was there.
  bool RemoveLocal(Subscription* sub, bool* found = nullptr);
  // Another shard's interest changed: plain +1 / -1, or queue members added / removed (a
  // route's member counting as its weight); `fallback` for members behind leafnode links.
  void ApplyRemote(int shard, int delta, std::string_view subject, std::string_view queue,
                   bool fallback = false);

  // Who wants this literal subject. The reference stays valid until the next change of
  // interest or the next Match() call.
  const MatchResult& Match(std::string_view subject);
  // Changes whenever a reference Match() returned may have become invalid: a caller that
  // holds one checks (TERN_DCHECK) that this did not move while it used it. Kept only where
  // checks are on (always 0 in Release).
  uint64_t match_stamp() const { return match_stamp_; }

  // A local subscription of the given client that matches the subject (uncached).
  Subscription* FindLocalFor(const Connection* conn, std::string_view subject) const;

  std::size_t local_count() const { return local_count_; }
  uint64_t inserts() const { return inserts_; }
  uint64_t removes() const { return removes_; }
  const MatchCache& cache() const { return cache_; }

  // Visits every local subscription (monitoring, tests).
  template <typename Fn>
  void ForEachLocal(Fn&& fn) const {
    trie_.ForEach([&](std::string_view, const Leaf& leaf) {
      for (Subscription* s : leaf.local_plain) fn(s);
      for (const auto& q : leaf.local_queues())
        for (Subscription* s : q.members) fn(s);
    });
  }

 private:
  struct LocalQueue {
    std::string name;
    std::vector<Subscription*> members;
  };
  struct RemoteQueue {
    std::string name;
    std::vector<uint32_t> counts;  // per shard
    uint32_t total = 0;
    bool fallback = false;  // members behind leafnode links (see QueueMatch)
  };
  // A pattern's queue groups, allocated only where a group subscribes.
  struct Queues {
    std::vector<LocalQueue> local;
    std::vector<RemoteQueue> remote;
  };
  // Every shard holds one per pattern anybody subscribes to, so it is kept small (56
  // bytes): one local subscriber without an allocation, queue groups apart.
  struct Leaf {
    absl::InlinedVector<Subscription*, 1> local_plain;
    uint32_t shared_plain = 0;  // local_plain minus shard-local ones (what peers know of)
    ShardSet remote_plain_set;  // shards announce only 0->1 and 1->0 transitions
    std::unique_ptr<Queues> queues;

    const std::vector<LocalQueue>& local_queues() const {
      static const std::vector<LocalQueue> kNone;
      return queues ? queues->local : kNone;
    }
    const std::vector<RemoteQueue>& remote_queues() const {
      static const std::vector<RemoteQueue> kNone;
      return queues ? queues->remote : kNone;
    }
    Queues& MutableQueues() {
      if (!queues) queues = std::make_unique<Queues>();
      return *queues;
    }
    void DropQueuesIfEmpty() {
      if (queues && queues->local.empty() && queues->remote.empty()) queues.reset();
    }
    bool Empty() const {
      return local_plain.empty() && !remote_plain_set.Any() && local_queues().empty() &&
             remote_queues().empty();
    }
  };
  static_assert(sizeof(Leaf) <= 56, "a Leaf per pattern per shard: keep it small");

  void Changed(std::string_view pattern);
  void Collect(const Leaf& leaf, MatchResult* out) const;

  int shard_count_;
  SubjectTrie<Leaf> trie_;
  MatchCache cache_;
  static constexpr std::string_view kOneShotPrefix = "$JS.ACK.";
  MatchResult one_shot_;  // the last match of a subject never cached (see Match)
  std::size_t local_count_ = 0;
  uint64_t match_stamp_ = 0;
  uint64_t inserts_ = 0;
  uint64_t removes_ = 0;
};

}  // namespace tern::core
