#include "core/jetstream/snapshot.h"

#include <charconv>

#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/subject.h"
#include "storage/stream_log.h"

namespace tern::core::js {
namespace {

constexpr uint64_t kWindowBytes = 8u << 20;         // unacked bytes out at once (nats-server's)
constexpr std::size_t kRecordsPerFile = 1u << 20;   // bytes of records in one msgs/ file
constexpr std::size_t kBytesPerTurn = 4u << 20;     // the loop serves others in between
constexpr int64_t kInterestWaitNs = 2'000'000'000;  // for the requester's subscription
constexpr int64_t kStallNs = 5'000'000'000;         // without acks: the requester is gone
constexpr int64_t kPollNs = 10'000'000;

}  // namespace

StreamSnapshot::StreamSnapshot(JsShard* js, std::string stream, storage::StreamLog* log,
                               std::vector<std::pair<std::string, std::string>> files,
                               std::string deliver, std::size_t chunk_size, int64_t now_ns)
    : js_(js),
      stream_(std::move(stream)),
      log_(log),
      token_(RandomName(22)),
      deliver_(std::move(deliver)),
      chunk_size_(chunk_size),
      started_ns_(now_ns),
      last_progress_ns_(now_ns),
      started_wall_ns_(WallNowNs()) {
  const storage::LogState state = log_->State();
  next_seq_ = state.first_seq;
  last_seq_ = state.last_seq;
  std::string tar;
  const int64_t mtime = WallNowNs() / 1'000'000'000;
  for (const auto& [name, data] : files) backup::AppendTarFile(name, data, mtime, &tar);
  frames_.Append(tar, &out_);
}

bool StreamSnapshot::Produce() {
  if (encoded_all_) return false;
  scratch_.clear();
  storage::StoredMessage msg;
  while (next_seq_ <= last_seq_ && scratch_.size() < kRecordsPerFile &&
         log_->ReadNext(next_seq_, {}, &msg) && msg.seq <= last_seq_) {
    backup::AppendRecord({msg.seq, msg.time_ns, msg.subject, msg.header, msg.payload}, &scratch_);
    next_seq_ = msg.seq + 1;
  }
  std::string tar;
  const int64_t mtime = WallNowNs() / 1'000'000'000;
  if (!scratch_.empty()) {
    char name[32];
    std::snprintf(name, sizeof name, "msgs/%06d.dat", ++file_index_);
    backup::AppendTarFile(name, scratch_, mtime, &tar);
  }
  if (scratch_.size() < kRecordsPerFile) {  // the log has nothing more up to last_seq_
    backup::AppendTarEnd(&tar);
    encoded_all_ = true;
  }
  frames_.Append(tar, &out_);
  return true;
}

bool StreamSnapshot::Pump(int64_t now_ns) {
  waiting_ = false;
  if (!js_->HasInterest(deliver_)) {
    // The requester subscribes right after asking; later, no interest means it left.
    if (interest_seen_ || now_ns - started_ns_ > kInterestWaitNs) return false;
    waiting_ = true;
    wake_at_ = now_ns + kPollNs;
    return true;
  }
  interest_seen_ = true;
  std::size_t sent_this_turn = 0;
  while (sent_this_turn < kBytesPerTurn) {
    if (outstanding_ >= kWindowBytes) {
      if (now_ns - last_progress_ns_ > kStallNs) {
        Finish(StatusBlock(408, "No Flow Response"));
        return false;
      }
      waiting_ = true;
      wake_at_ = last_progress_ns_ + kStallNs + 1;
      return true;
    }
    if (out_.size() - out_at_ < chunk_size_ && !encoded_all_) {
      out_.erase(0, out_at_);
      out_at_ = 0;
      Produce();
      continue;
    }
    if (out_at_ == out_.size()) {
      Finish({});
      return false;
    }
    const std::string_view chunk =
        std::string_view(out_).substr(out_at_, std::min(chunk_size_, out_.size() - out_at_));
    std::string reply = "$JS.SNAPSHOT.ACK." + stream_ + "." + token_ + ".";
    reply.append(std::to_string(chunk.size())).append(".").append(std::to_string(++chunk_index_));
    js_->Send(deliver_, reply, {}, chunk);
    out_at_ += chunk.size();
    outstanding_ += chunk.size();
    bytes_sent_ += chunk.size();
    sent_this_turn += chunk.size();
  }
  js_->MarkBusy();  // more to send next turn
  return true;
}

void StreamSnapshot::OnAck(std::string_view tail, int64_t now_ns) {
  const std::size_t dot = tail.find('.');
  uint64_t bytes = 0;
  const std::string_view digits = tail.substr(0, dot);
  if (std::from_chars(digits.data(), digits.data() + digits.size(), bytes).ec != std::errc()) {
    return;
  }
  outstanding_ = bytes >= outstanding_ ? 0 : outstanding_ - bytes;
  last_progress_ns_ = now_ns;
  js_->MarkBusy();
}

void StreamSnapshot::Finish(std::string_view status_header) {
  js_->Send(deliver_, {}, status_header, {});
  completed_ = status_header.empty();
}

}  // namespace tern::core::js
