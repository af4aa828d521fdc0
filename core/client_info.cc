// Client::Describe: the monitoring view of a connection (see core/conn_info.h).
#include "core/client.h"

#include <algorithm>

namespace tern::core {

void Client::Describe(ConnInfo* info, bool with_subs) const {
  info->cid = id_;
  info->shard = shard_->index();
  info->ip = ip_;
  info->port = port_;
  info->start_unix_ns = start_unix_ns_;
  // Activity is tracked on the shard's monotonic clock; shown on the wall clock.
  info->last_activity_unix_ns = start_unix_ns_ + (last_in_ns_ - start_mono_ns_);
  info->rtt_ns = rtt_ns_;
  info->pending_bytes = PendingBytes();
  info->websocket = websocket_;
  if (mqtt_) {
    info->mqtt = true;
    info->mqtt_client = mqtt_->connect.client_id;
  }
  if (tls_) {
    info->tls_version = tls_->version();
    info->tls_cipher = tls_->cipher();
  }
  info->in_msgs = in_msgs_;
  info->in_bytes = in_bytes_;
  info->out_msgs = out_msgs_;
  info->out_bytes = out_bytes_;
  info->num_subs = static_cast<uint32_t>(subs_.size());
  info->name = name_;
  info->lang = lang_;
  info->version = version_;
  info->authorized_user = auth_user_;
  const auth::Accounts& accounts = shard_->options().auth.accounts;
  info->account = account_ < accounts.size() ? accounts[account_].name : auth::kGlobalAccountName;
  if (closing_) info->reason = CloseReasonText(close_reason_);
  info->subs.clear();
  if (!with_subs) return;
  for (const auto& [sid, sub] : subs_) {
    info->subs.push_back(SubInfo{sub->subject, sub->queue, sub->sid, sub->delivered, sub->max});
  }
  // In the order the client made them (sids are usually increasing numbers).
  std::sort(info->subs.begin(), info->subs.end(), [](const SubInfo& a, const SubInfo& b) {
    return a.sid.size() != b.sid.size() ? a.sid.size() < b.sid.size() : a.sid < b.sid;
  });
}

}  // namespace tern::core
