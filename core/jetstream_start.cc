#include "core/jetstream_start.h"

#include "core/jetstream/declared.h"
#include "core/jetstream/js_shard.h"
#include "core/log.h"

namespace tern::core {

bool StartJetStream(const ServerOptions& options, const std::vector<Shard*>& shards,
                    std::vector<std::unique_ptr<js::Registry>>* registries, std::string* error) {
  js::Registry* global = nullptr;  // the global account's, when it has JetStream
  LOG_INFO("Starting JetStream");
  // Without an accounts block, the global account has JetStream. With one, the accounts
  // that enable it have it (and $G when no account says anything about JetStream); the
  // others answer every API request with "jetstream not enabled for account".
  const auth::Accounts& accounts = options.auth.accounts;
  bool any_set = false;
  for (const auth::Account& account : accounts.list) any_set |= account.jetstream_set;
  for (std::size_t id = 0; id < accounts.size(); ++id) {
    if (id == accounts.system) continue;
    const auth::Account& account = accounts[static_cast<auth::AccountId>(id)];
    auth::JetStreamLimits limits = account.jetstream;
    limits.enabled = accounts.configured && any_set ? limits.enabled : id == auth::kGlobalAccount;
    if (!accounts.configured && id != auth::kGlobalAccount) continue;
    registries->push_back(
        std::make_unique<js::Registry>(options.store_dir, static_cast<int>(shards.size()),
                                       account.name, static_cast<auth::AccountId>(id), limits));
  }
  for (const auto& registry : *registries) {
    if (!registry->enabled()) continue;
    LOG_INFO("  Account \"%s\": store directory \"%s\"", registry->account().c_str(),
             registry->StreamsDir().c_str());
    if (registry->account_id() == auth::kGlobalAccount) global = registry.get();
  }
  for (const auto& registry : *registries) {
    std::vector<std::vector<std::string>> internal(shards.size());
    std::vector<js::JsShard*> on_shard;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      auto js = std::make_unique<js::JsShard>(shards[i], registry.get());
      on_shard.push_back(js.get());
      shards[i]->AddService(std::move(js));
      if (!on_shard.back()->Start(&internal[i], error)) return false;
    }
    if (registry.get() == global) {
      for (const ConfValue& block : options.declared_streams) {
        js::DeclaredStream declared;
        if (!js::ConvertDeclaredStream(block, &declared, error)) return false;
        const int home = registry->HomeOf(declared.config["name"].get<std::string>());
        if (!on_shard[home]->ApplyDeclared(declared, &internal[home], error)) return false;
      }
    }
    for (std::size_t i = 0; i < shards.size(); ++i) {
      for (std::size_t j = 0; j < shards.size(); ++j) {
        if (i == j) continue;
        for (const std::string& subject : internal[j]) {
          shards[i]->ApplyRemoteInterest(static_cast<int>(j), registry->account_id(), subject);
        }
      }
    }
    if (registry->enabled()) {
      LOG_INFO("  Account \"%s\": %zu streams", registry->account().c_str(), registry->size());
    }
  }
  if (global == nullptr && !options.declared_streams.empty()) {
    *error = "jetstream streams are declared for the global account, which has no JetStream";
    return false;
  }
  return true;
}

}  // namespace tern::core
