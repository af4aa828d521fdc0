#include "core/imports.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "core/connection.h"
#include "core/log.h"
#include "core/shard.h"

namespace tern::core {
namespace {

constexpr std::string_view kResponsePrefix = "_R_.";
constexpr std::string_view kRequestInfoHeader = "Nats-Request-Info: ";
constexpr std::string_view kHeaderVersionLine = "NATS/1.0\r\n";

bool ParseAccountId(std::string_view text, std::size_t limit, auth::AccountId* out) {
  if (text.empty() || text.size() > 5) return false;
  std::size_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n >= limit) return false;
  *out = static_cast<auth::AccountId>(n);
  return true;
}

}  // namespace

ImportRouter::ImportRouter(Shard* shard, const auth::Accounts& accounts, const Key& key)
    : shard_(shard), key_(key), account_count_(accounts.size()), system_account_(accounts.system) {
  for (const auth::Account& account : accounts.list) {
    quoted_account_names_.push_back(nlohmann::json(account.name).dump());
  }
  // The node's own response prefix: 6 characters of a keyed hash, like nats-server's.
  char node[kTagChars];
  response_prefix_.assign(kResponsePrefix);
  response_prefix_.append(Tag(0, 0, "node", node).substr(0, kNodeChars));
  response_prefix_ += '.';
  std::vector<bool> exports_service(accounts.size(), false);
  for (std::size_t importer = 0; importer < accounts.size(); ++importer) {
    for (const auth::Import& import : accounts[static_cast<auth::AccountId>(importer)].imports) {
      Route route;
      route.service = import.kind == auth::ExchangeKind::kService;
      std::string error;  // the config was checked by ResolveAccounts
      auto sub = std::make_unique<Subscription>();
      sub->sink = this;
      sub->shard_local = true;
      sub->tag = static_cast<int>(routes_.size());
      if (route.service) {
        const std::string& local = import.to.empty() ? import.subject : import.to;
        route.from = static_cast<auth::AccountId>(importer);
        route.to = import.from;
        SubjectTransform::Make(local, import.subject, &route.transform, &error);
        sub->account = route.from;
        sub->subject = local;
        exports_service[import.from] = true;
      } else {
        route.from = import.from;
        route.to = static_cast<auth::AccountId>(importer);
        SubjectTransform::Make(import.subject, import.to, &route.transform, &error);
        sub->account = route.from;
        sub->subject = import.subject;
      }
      routes_.push_back(std::move(route));
      subs_.push_back(std::move(sub));
    }
  }
  for (std::size_t exporter = 0; exporter < exports_service.size(); ++exporter) {
    if (!exports_service[exporter]) continue;
    auto sub = std::make_unique<Subscription>();
    sub->sink = this;
    sub->shard_local = true;
    sub->tag = kResponseTag;
    sub->account = static_cast<auth::AccountId>(exporter);
    sub->subject = response_prefix_ + ">";
    sub->announce_to_links = true;
    subs_.push_back(std::move(sub));
  }
}

ImportRouter::~ImportRouter() = default;

bool ImportRouter::Needed(const auth::Accounts& accounts) {
  for (const auth::Account& account : accounts.list) {
    if (!account.imports.empty()) return true;
  }
  return false;
}

void ImportRouter::Start() {
  for (auto& sub : subs_) shard_->AddInternal(sub.get(), false);
}

std::string_view ImportRouter::Tag(auth::AccountId importer, auth::AccountId exporter,
                                   std::string_view reply, char (&out)[kTagChars]) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  hmac_input_.resize(4);  // reused: no allocation per request once it has grown
  std::memcpy(hmac_input_.data(), &importer, 2);
  std::memcpy(hmac_input_.data() + 2, &exporter, 2);
  hmac_input_.append(reply);
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(hmac_input_.data()), hmac_input_.size(), digest,
       &digest_len);
  // base64url of the first 12 bytes: 4 groups of 3 bytes, 16 characters.
  for (std::size_t group = 0; group < kTagBytes / 3; ++group) {
    const uint32_t bits = (uint32_t{digest[3 * group]} << 16) |
                          (uint32_t{digest[3 * group + 1]} << 8) | digest[3 * group + 2];
    for (std::size_t i = 0; i < 4; ++i) out[4 * group + i] = kAlphabet[(bits >> (18 - 6 * i)) & 63];
  }
  return {out, kTagChars};
}

uint32_t ImportRouter::Put(std::string_view bytes) {
  const auto at = static_cast<uint32_t>(arena_.size());
  arena_.append(bytes);
  return at;
}

void ImportRouter::Queue(auth::AccountId account, std::string_view subject, std::string_view reply,
                         const Message& msg, std::string_view request_reply) {
  const std::size_t header_len = msg.header_len;
  const std::string_view data = msg.data;
  if (hops_ >= kMaxHops) {
    LOG_DEBUG("import chain longer than %d hops dropped at \"%.*s\"", kMaxHops,
              static_cast<int>(subject.size()), subject.data());
    return;
  }
  Pending p{};
  p.account = account;
  arena_.reserve(arena_.size() + subject.size() + reply.size() + data.size() +
                 request_reply.size() + msg.display.size());
  p.subject_at = Put(subject);
  p.subject_len = static_cast<uint32_t>(subject.size());
  p.reply_at = Put(reply);
  p.reply_len = static_cast<uint32_t>(reply.size());
  p.data_at = Put(data);
  p.data_len = static_cast<uint32_t>(data.size());
  p.header_len = static_cast<uint32_t>(header_len);
  p.request_reply_at = Put(request_reply);
  p.request_reply_len = static_cast<uint32_t>(request_reply.size());
  // A stream import of a JetStream delivery still shows the subject it was stored on.
  p.display_at = Put(msg.display);
  p.display_len = static_cast<uint32_t>(msg.display.size());
  p.hops = hops_ + 1;
  p.service_request = !request_reply.empty();
  p.origin = msg.origin;
  pending_.push_back(p);
}

void ImportRouter::OnInternalMessage(const Subscription& sub, const Message& msg) {
  if (sub.tag == kResponseTag) {
    OnResponse(sub, msg);
    return;
  }
  const std::string_view subject = msg.subject;
  const std::string_view reply = msg.reply;
  const Route& route = routes_[static_cast<std::size_t>(sub.tag)];
  route.transform.Apply(subject, &mapped_);
  if (!route.service) {
    Queue(route.to, mapped_, reply, msg, {});
    return;
  }
  routed_reply_.clear();  // reused, like mapped_
  if (!reply.empty()) {
    char tag[kTagChars];
    routed_reply_.append(response_prefix_);
    routed_reply_ += std::to_string(route.from);  // at most 4 digits: no allocation
    routed_reply_ += '.';
    routed_reply_.append(Tag(route.from, route.to, reply, tag));
    routed_reply_ += '.';
    routed_reply_.append(reply);
  }
  if (route.to != system_account_) {
    Queue(route.to, mapped_, routed_reply_, msg, reply);
    return;
  }
  // The system account's services (JetStream's API on other nodes) learn the requester's
  // account from this header; nats-server adds it to every request it imports there.
  Message with_info = msg;
  with_info.data = WithRequestInfo(msg, route.from, &with_info.header_len);
  Queue(route.to, mapped_, routed_reply_, with_info, reply);
}

std::string_view ImportRouter::WithRequestInfo(const Message& msg, auth::AccountId importer,
                                               std::size_t* header_len) {
  std::string& out = with_request_info_;  // reused: no allocation once it has grown
  out.clear();
  if (msg.header_len >= 4) {
    out.append(msg.data.substr(0, msg.header_len - 2));  // without the blank line
  } else {
    out.append(kHeaderVersionLine);
  }
  out.append(kRequestInfoHeader);
  out.append("{\"acc\":");
  out.append(quoted_account_names_[importer]);
  out.append(",\"rtt\":0,\"server\":");
  if (quoted_server_.empty()) quoted_server_ = nlohmann::json(shard_->context().server_name).dump();
  out.append(quoted_server_);
  if (shard_->cluster_name() != cluster_name_) {  // it changes when a dynamic name settles
    cluster_name_ = shard_->cluster_name();
    quoted_cluster_ = nlohmann::json(cluster_name_).dump();
  }
  if (!cluster_name_.empty()) {
    out.append(",\"cluster\":");
    out.append(quoted_cluster_);
  }
  out.append("}\r\n\r\n");
  *header_len = out.size();
  out.append(msg.payload());
  return out;
}

void ImportRouter::OnResponse(const Subscription& sub, const Message& msg) {
  const std::string_view subject = msg.subject;
  // _R_.<node>.<importer>.<tag>.<original reply>
  std::string_view rest = subject.substr(response_prefix_.size());
  const auto dot1 = rest.find('.');
  if (dot1 == std::string_view::npos) return;
  const auto dot2 = rest.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return;
  auth::AccountId importer = 0;
  if (!ParseAccountId(rest.substr(0, dot1), account_count_, &importer)) return;
  const std::string_view tag = rest.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view original = rest.substr(dot2 + 1);
  if (original.empty() || importer == sub.account) return;
  char expected[kTagChars];
  if (tag != Tag(importer, sub.account, original, expected)) {
    LOG_DEBUG("a response to \"%.*s\" with a forged or stale route was dropped",
              static_cast<int>(subject.size()), subject.data());
    return;
  }
  Queue(importer, original, msg.reply, msg, {});
}

void ImportRouter::Drain(Connection* from) {
  // Routing a queued message may queue more (chains) into the other arena, whose bytes
  // stay put while this one is read; both keep their capacity between messages.
  while (!pending_.empty()) {
    draining_.swap(pending_);
    draining_arena_.swap(arena_);
    for (const Pending& p : draining_) {
      hops_ = p.hops;
      const auto at = [&](uint32_t offset, uint32_t len) {
        return std::string_view(draining_arena_.data() + offset, len);
      };
      const bool delivered = shard_->Route(Message{.subject = at(p.subject_at, p.subject_len),
                                                   .reply = at(p.reply_at, p.reply_len),
                                                   .data = at(p.data_at, p.data_len),
                                                   .header_len = p.header_len,
                                                   .display = at(p.display_at, p.display_len),
                                                   .account = p.account,
                                                   .origin = p.origin},
                                           from);
      if (!delivered && p.service_request && p.hops == 1) {
        shard_->NoRespondersFor(from, at(p.request_reply_at, p.request_reply_len));
      }
    }
    draining_.clear();
    draining_arena_.clear();
  }
  hops_ = 0;
}

}  // namespace tern::core
