#include "core/auth/permissions.h"

#include "core/subject.h"

namespace tern::core::auth {
namespace {

constexpr std::size_t kPublishCacheEntries = 1024;
constexpr std::size_t kMaxTrackedReplies = 64 * 1024;

bool MatchesAny(const std::vector<std::string>& patterns, std::string_view subject) {
  for (const std::string& pattern : patterns) {
    if (SubjectMatches(pattern, subject)) return true;
  }
  return false;
}

// A subscribe entry is "subject" or "subject queue".
void SplitEntry(std::string_view entry, std::string_view* subject, std::string_view* queue) {
  const auto space = entry.find(' ');
  *subject = entry.substr(0, space);
  *queue = space == std::string_view::npos ? std::string_view() : entry.substr(space + 1);
  while (!queue->empty() && queue->front() == ' ') queue->remove_prefix(1);
}

// Does the entry cover a subscription to `subject` (in `queue`)? The subscription's
// subject must lie within the entry's; an entry with a queue covers only that queue.
bool EntryCovers(std::string_view entry, std::string_view subject, std::string_view queue) {
  std::string_view entry_subject, entry_queue;
  SplitEntry(entry, &entry_subject, &entry_queue);
  if (!entry_queue.empty() && entry_queue != queue) return false;
  return SubjectIsSubsetOf(subject, entry_subject);
}

}  // namespace

void Permissions::Normalize() {
  if (!responses) return;
  if (!publish) publish.emplace();
  if (!publish->allow) publish->allow.emplace();
}

bool PermissionChecker::Allowed(std::string_view subject) {
  const SubjectPermission& p = *permissions_->publish;
  const auto cached = publish_cache_.find(AbslView(subject));
  if (cached != publish_cache_.end()) return cached->second;
  bool allowed = !p.allow || MatchesAny(*p.allow, subject);
  if (allowed && MatchesAny(p.deny, subject)) allowed = false;
  if (publish_cache_.size() >= kPublishCacheEntries) publish_cache_.clear();
  publish_cache_.emplace(std::string(subject), allowed);
  return allowed;
}

bool PermissionChecker::CanPublish(std::string_view subject, int64_t now_ns) {
  if (!permissions_->publish) return true;
  if (Allowed(subject)) return true;
  if (!permissions_->responses) return false;
  const auto reply = replies_.find(AbslView(subject));
  if (reply == replies_.end()) return false;
  if (reply->second.expires_at_ns != 0 && now_ns > reply->second.expires_at_ns) {
    replies_.erase(reply);
    return false;
  }
  if (--reply->second.remaining <= 0) replies_.erase(reply);
  return true;
}

bool PermissionChecker::CanSubscribe(std::string_view subject, std::string_view queue) const {
  if (!permissions_->subscribe) return true;
  const SubjectPermission& p = *permissions_->subscribe;
  if (p.allow) {
    bool covered = false;
    for (const std::string& entry : *p.allow) covered |= EntryCovers(entry, subject, queue);
    if (!covered) return false;
  }
  // Refused only if the whole subscription is denied; a wildcard that merely overlaps a
  // denied subject is accepted and the denied messages are dropped at delivery.
  for (const std::string& entry : p.deny) {
    if (EntryCovers(entry, subject, queue)) return false;
  }
  return true;
}

bool PermissionChecker::DeliveryDenied(std::string_view subject) const {
  for (const std::string& entry : permissions_->subscribe->deny) {
    std::string_view entry_subject, entry_queue;
    SplitEntry(entry, &entry_subject, &entry_queue);
    if (entry_queue.empty() && SubjectMatches(entry_subject, subject)) return true;
  }
  return false;
}

void PermissionChecker::NoteRequest(std::string_view reply, int64_t now_ns) {
  if (reply.empty()) return;
  const ResponsePermission& r = *permissions_->responses;
  if (replies_.size() >= kMaxTrackedReplies) {
    // Forget expired ones first; if none, the oldest behaviour is to start over.
    for (auto it = replies_.begin(); it != replies_.end();) {
      if (it->second.expires_at_ns != 0 && now_ns > it->second.expires_at_ns) {
        replies_.erase(it++);
      } else {
        ++it;
      }
    }
    if (replies_.size() >= kMaxTrackedReplies) replies_.clear();
  }
  replies_[std::string(reply)] =
      Reply{r.max_msgs <= 0 ? 1 : r.max_msgs, r.expires_ns > 0 ? now_ns + r.expires_ns : 0};
}

}  // namespace tern::core::auth
