#include "core/jetstream/registry.h"

#include <algorithm>

#include "core/subject.h"

namespace tern::core::js {

int Registry::HomeOf(std::string_view stream_name) const {
  uint32_t hash = 2166136261u;  // FNV-1a: stable across runs and builds
  for (unsigned char c : stream_name) hash = (hash ^ c) * 16777619u;
  return static_cast<int>(hash % static_cast<uint32_t>(shard_count_));
}

namespace {
bool Overlaps(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const std::string& x : a)
    for (const std::string& y : b)
      if (SubjectsOverlap(x, y)) return true;
  return false;
}
}  // namespace

ApiError Registry::Add(const StreamEntry& entry) {
  base::MutexLock lock(&mutex_);
  if (limits_.max_streams >= 0 && static_cast<int64_t>(streams_.size()) >= limits_.max_streams) {
    return MakeError(err::kMaxStreams);
  }
  for (const StreamEntry& other : streams_) {
    if (other.name == entry.name) return MakeError(err::kStreamNameExists);
    if (Overlaps(other.subjects, entry.subjects)) return MakeError(err::kSubjectOverlap);
  }
  streams_.push_back(entry);
  return {};
}

ApiError Registry::Update(const std::string& name, const std::vector<std::string>& subjects,
                          const nlohmann::json& config) {
  base::MutexLock lock(&mutex_);
  StreamEntry* self = nullptr;
  for (StreamEntry& other : streams_) {
    if (other.name == name) {
      self = &other;
    } else if (Overlaps(other.subjects, subjects)) {
      return MakeError(err::kSubjectOverlap);
    }
  }
  if (self == nullptr) return MakeError(err::kStreamNotFound);
  self->subjects = subjects;
  self->config = config;
  return {};
}

uint64_t Registry::ConsumerCount() const {
  base::MutexLock lock(&mutex_);
  uint64_t n = 0;
  for (const StreamEntry& e : streams_) n += e.figures->consumers.load(std::memory_order_relaxed);
  return n;
}

void Registry::Remove(const std::string& name) {
  base::MutexLock lock(&mutex_);
  for (const StreamEntry& e : streams_) {
    if (e.name == name && e.figures) {
      AddUsage(e.figures->memory.load(std::memory_order_relaxed),
               -static_cast<int64_t>(e.figures->bytes.load(std::memory_order_relaxed)));
    }
  }
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [&](const StreamEntry& e) { return e.name == name; }),
                 streams_.end());
}

bool Registry::Find(const std::string& name, StreamEntry* out) const {
  base::MutexLock lock(&mutex_);
  for (const StreamEntry& e : streams_) {
    if (e.name == name) {
      *out = e;
      return true;
    }
  }
  return false;
}

int Registry::DirectResponder(std::string_view stream, std::string* responder) const {
  base::MutexLock lock(&mutex_);
  const StreamEntry* origin = nullptr;
  const StreamEntry* mirror = nullptr;
  for (const StreamEntry& e : streams_) {
    if (e.name == stream) {
      origin = &e;
      if (e.config.value("allow_direct", false)) break;
      continue;
    }
    if (!e.config.value("mirror_direct", false) || !e.figures ||
        !e.figures->mirror_current.load(std::memory_order_relaxed)) {
      continue;
    }
    const auto source = e.config.find("mirror");
    if (source != e.config.end() && source->is_object() && source->value("name", "") == stream &&
        (mirror == nullptr || e.name < mirror->name)) {
      mirror = &e;
    }
  }
  if (origin != nullptr && origin->config.value("allow_direct", false)) {
    *responder = origin->name;
    return origin->home;
  }
  if (mirror != nullptr) {
    *responder = mirror->name;
    return mirror->home;
  }
  return origin != nullptr ? kNoResponder : kNoStream;
}

std::vector<StreamEntry> Registry::List(const std::string& subject) const {
  std::vector<StreamEntry> out;
  {
    base::MutexLock lock(&mutex_);
    for (const StreamEntry& e : streams_) {
      if (subject.empty() || Overlaps(e.subjects, {subject})) out.push_back(e);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const StreamEntry& a, const StreamEntry& b) { return a.name < b.name; });
  return out;
}

std::size_t Registry::size() const {
  base::MutexLock lock(&mutex_);
  return streams_.size();
}

}  // namespace tern::core::js
