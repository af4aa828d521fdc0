#include "core/gateway_optimism.h"

#include "core/strings.h"

namespace tern::core {

void GatewayOptimism::Start(uint16_t accounts) { accounts_.assign(accounts, Account{}); }

bool GatewayOptimism::Sends(uint16_t account, std::string_view subject) const {
  if (account >= accounts_.size()) return false;
  const Account& state = accounts_[account];
  return state.optimistic && state.interest && !state.no_interest.contains(AbslView(subject));
}

void GatewayOptimism::NoInterest(uint16_t account, std::string_view subject) {
  if (optimistic(account)) accounts_[account].no_interest.emplace(subject);
}

void GatewayOptimism::Interest(uint16_t account, std::string_view subject) {
  if (optimistic(account)) accounts_[account].no_interest.erase(AbslView(subject));
}

void GatewayOptimism::AccountInterest(uint16_t account, bool interest) {
  if (!optimistic(account)) return;
  accounts_[account].interest = interest;
  // nats-server forgets what it suppressed per subject when the account comes back.
  if (interest) accounts_[account].no_interest.clear();
}

void GatewayOptimism::SwitchToInterestOnly(uint16_t account) {
  if (account >= accounts_.size()) return;
  accounts_[account] = Account{};
  accounts_[account].optimistic = false;
}

}  // namespace tern::core
