#pragma once
// Optimistic mode of an outbound gateway link, towards a peer that does not announce
// `gateway_iom` (nats-server before 2.9): every message goes out except where the peer
// said it has no interest (`RS- <account> <subject>`, `A- <account>`), which `RS+`/`A+`
// undo, until the peer switches an account to interest-only (INFO gateway_cmd 2), after
// which only what it announced goes there. Peers of 2.9 and later switch every account at
// once and never see this mode.
// Owned by one GatewayConnection, on its shard.
#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::core {

class GatewayOptimism {
 public:
  // Every account optimistic, the peer interested in all of them.
  void Start(uint16_t accounts);

  // Whether the account is still sent everything (less what the peer suppressed).
  bool optimistic(uint16_t account) const {
    return account < accounts_.size() && accounts_[account].optimistic;
  }
  // For an optimistic account: may a message on `subject` go out with no queue group?
  bool Sends(uint16_t account, std::string_view subject) const;

  void NoInterest(uint16_t account, std::string_view subject);  // RS-
  void Interest(uint16_t account, std::string_view subject);    // RS+
  void AccountInterest(uint16_t account, bool interest);        // A+ / A-
  bool account_interest(uint16_t account) const {
    return account < accounts_.size() && accounts_[account].interest;
  }
  // gateway_cmd 2: from now on only announced interest counts for this account.
  void SwitchToInterestOnly(uint16_t account);

 private:
  struct Account {
    bool optimistic = true;
    bool interest = true;  // false after A-
    absl::flat_hash_set<std::string> no_interest;
  };
  std::vector<Account> accounts_;
};

}  // namespace tern::core
