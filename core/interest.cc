#include "core/interest.h"

#include <algorithm>

#include "base/check.h"

namespace tern::core {

MatchCache::MatchCache(std::size_t capacity) : slots_(capacity) { index_.reserve(capacity); }

MatchResult* MatchCache::Find(std::string_view subject) {
  // A publisher mostly repeats its subject: the last hit's slot is tried before hashing
  // (hash and probe were a quarter of the ingest path).
  if (last_hit_ < slots_.size()) {
    Slot& last = slots_[last_hit_];
    if (last.generation == generation_ && last.key == subject) {
      ++hits_;
      return &last.result;
    }
  }
  auto it = index_.find(AbslView(subject));
  if (it == index_.end() || slots_[it->second].generation != generation_) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  last_hit_ = it->second;
  return &slots_[it->second].result;
}

MatchResult* MatchCache::Assign(std::string_view subject) {
  // A slot taken over by another subject keeps its buffers, but not a large fan-out's (or a
  // long subject's): over time every slot would hold the largest result any subject had.
  constexpr std::size_t kKeptMatches = 16, kKeptQueues = 4, kKeptKeyBytes = 256;
  uint32_t slot_index;
  auto it = index_.find(AbslView(subject));
  if (it != index_.end()) {
    slot_index = it->second;
  } else {
    slot_index = static_cast<uint32_t>(hand_);
    hand_ = (hand_ + 1) % slots_.size();
    Slot& victim = slots_[slot_index];
    if (victim.in_use) index_.erase(AbslView(victim.key));
    if (victim.key.capacity() > kKeptKeyBytes) std::string().swap(victim.key);
    if (victim.result.plain.capacity() > kKeptMatches) {
      std::vector<Subscription*>().swap(victim.result.plain);
    }
    if (victim.result.queues.capacity() > kKeptQueues) {
      std::vector<QueueMatch>().swap(victim.result.queues);
    }
    victim.key.assign(subject);
    victim.in_use = true;
    index_.emplace(AbslView(victim.key), slot_index);
  }
  Slot& slot = slots_[slot_index];
  slot.generation = generation_;
  slot.result.plain.clear();
  slot.result.queues.clear();
  slot.result.remote_plain.Reset();
  return &slot.result;
}

void MatchCache::Invalidate(std::string_view subject) {
  auto it = index_.find(AbslView(subject));
  if (it != index_.end()) slots_[it->second].generation = 0;
}

Interest::Interest(int shard_count, std::size_t cache_capacity)
    : shard_count_(shard_count), cache_(cache_capacity) {}

void Interest::Changed(std::string_view pattern) {
  if constexpr (base::kDChecks) ++match_stamp_;
  // A literal pattern can only appear in the cache entry for itself.
  if (IsLiteral(pattern)) {
    cache_.Invalidate(pattern);
  } else {
    cache_.InvalidateAll();
  }
}

bool Interest::AddLocal(Subscription* sub) {
  Leaf& leaf = trie_.Insert(sub->subject);
  if (!sub->shard_local) ++local_count_;  // per-shard copies of one server subscription
  ++inserts_;
  Changed(sub->subject);
  if (sub->queue.empty()) {
    leaf.local_plain.push_back(sub);
    // Other shards hear of the first subscription they may forward for.
    return !sub->shard_local && ++leaf.shared_plain == 1;
  }
  std::vector<LocalQueue>& queues = leaf.MutableQueues().local;
  auto it = std::find_if(queues.begin(), queues.end(),
                         [&](const LocalQueue& q) { return q.name == sub->queue; });
  if (it == queues.end()) {
    queues.push_back(LocalQueue{sub->queue, {}});
    it = queues.end() - 1;
  }
  it->members.push_back(sub);
  return true;  // queue membership counts are weights: every change is announced
}

bool Interest::RemoveLocal(Subscription* sub, bool* was_found) {
  if (was_found != nullptr) *was_found = false;
  Leaf* leaf = trie_.Find(sub->subject);
  if (leaf == nullptr) return false;
  bool announce = false;
  bool found = false;
  if (sub->queue.empty()) {
    auto it = std::find(leaf->local_plain.begin(), leaf->local_plain.end(), sub);
    if (it != leaf->local_plain.end()) {
      leaf->local_plain.erase(it);
      found = true;
      announce = !sub->shard_local && --leaf->shared_plain == 0;
    }
  } else if (leaf->queues) {
    std::vector<LocalQueue>& queues = leaf->queues->local;
    for (auto q = queues.begin(); q != queues.end(); ++q) {
      if (q->name != sub->queue) continue;
      auto it = std::find(q->members.begin(), q->members.end(), sub);
      if (it != q->members.end()) {
        q->members.erase(it);
        found = announce = true;
        if (q->members.empty()) queues.erase(q);
      }
      break;
    }
    leaf->DropQueuesIfEmpty();
  }
  if (!found) return false;
  if (was_found != nullptr) *was_found = true;
  if (!sub->shard_local) --local_count_;
  ++removes_;
  Changed(sub->subject);
  if (leaf->Empty()) trie_.Prune(sub->subject);
  return announce;
}

void Interest::ApplyRemote(int shard, int delta, std::string_view subject, std::string_view queue,
                           bool fallback) {
  Changed(subject);
  Leaf& leaf = trie_.Insert(subject);
  if (queue.empty()) {
    if (delta > 0) {
      leaf.remote_plain_set.Set(shard);
    } else {
      leaf.remote_plain_set.Clear(shard);
    }
  } else if (delta > 0 || leaf.queues) {
    std::vector<RemoteQueue>& queues = leaf.MutableQueues().remote;
    auto it = std::find_if(queues.begin(), queues.end(), [&](const RemoteQueue& q) {
      return q.name == queue && q.fallback == fallback;
    });
    if (it == queues.end() && delta > 0) {
      queues.push_back(RemoteQueue{std::string(queue), {}, 0, fallback});
      queues.back().counts.assign(shard_count_, 0);
      it = queues.end() - 1;
    }
    if (it != queues.end()) {
      if (delta > 0) {
        it->counts[shard] += static_cast<uint32_t>(delta);
        it->total += static_cast<uint32_t>(delta);
      } else {
        const uint32_t removed = std::min(it->counts[shard], static_cast<uint32_t>(-delta));
        it->counts[shard] -= removed;
        it->total -= removed;
        if (it->total == 0) queues.erase(it);
      }
    }
    leaf.DropQueuesIfEmpty();
  }
  if (leaf.Empty()) trie_.Prune(subject);
}

void Interest::Collect(const Leaf& leaf, MatchResult* out) const {
  out->plain.insert(out->plain.end(), leaf.local_plain.begin(), leaf.local_plain.end());
  out->remote_plain |= leaf.remote_plain_set;
  auto group_for = [&](const std::string& name) -> QueueMatch& {
    for (QueueMatch& q : out->queues) {
      if (q.name == name) return q;
    }
    out->queues.push_back(QueueMatch{name, {}, std::vector<uint32_t>(shard_count_, 0), 0, {}, 0});
    return out->queues.back();
  };
  for (const LocalQueue& q : leaf.local_queues()) {
    QueueMatch& group = group_for(q.name);
    group.local.insert(group.local.end(), q.members.begin(), q.members.end());
  }
  for (const RemoteQueue& q : leaf.remote_queues()) {
    QueueMatch& group = group_for(q.name);
    if (q.fallback) {
      if (group.remote_fallback.empty()) group.remote_fallback.assign(shard_count_, 0);
      for (int s = 0; s < shard_count_; ++s) group.remote_fallback[s] += q.counts[s];
      group.remote_fallback_total += q.total;
      continue;
    }
    for (int s = 0; s < shard_count_; ++s) group.remote[s] += q.counts[s];
    group.remote_total += q.total;
  }
}

const MatchResult& Interest::Match(std::string_view subject) {
  if constexpr (base::kDChecks) ++match_stamp_;
  // Every JetStream ack's subject is unique: cached, it would only evict subjects that come
  // again (and cost the cache's bookkeeping each time). Matched into a result not kept.
  if (subject.starts_with(kOneShotPrefix)) {
    one_shot_.plain.clear();
    one_shot_.queues.clear();
    one_shot_.remote_plain.Reset();
    trie_.Match(subject, [&](const Leaf& leaf) { Collect(leaf, &one_shot_); });
    return one_shot_;
  }
  if (MatchResult* cached = cache_.Find(subject)) return *cached;
  MatchResult* result = cache_.Assign(subject);
  trie_.Match(subject, [&](const Leaf& leaf) { Collect(leaf, result); });
  return *result;
}

Subscription* Interest::FindLocalFor(const Connection* conn, std::string_view subject) const {
  Subscription* found = nullptr;
  trie_.Match(subject, [&](const Leaf& leaf) {
    if (found != nullptr) return;
    for (Subscription* s : leaf.local_plain) {
      if (s->conn == conn) {
        found = s;
        return;
      }
    }
    for (const LocalQueue& q : leaf.local_queues()) {
      for (Subscription* s : q.members) {
        if (s->conn == conn) {
          found = s;
          return;
        }
      }
    }
  });
  return found;
}

}  // namespace tern::core
