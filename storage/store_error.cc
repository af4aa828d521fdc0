#include "storage/store_error.h"

#include <string>

#include "absl/strings/cord.h"

namespace tern::storage {
namespace {
// abseil's string_view is its own type in Debian's build, not std::string_view.
constexpr absl::string_view kPayloadUrl = "tern.storage.StoreError";
}  // namespace

absl::Status MakeStoreError(absl::StatusCode code, StoreError error, std::string_view message) {
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  status.SetPayload(kPayloadUrl, absl::Cord(std::string(1, static_cast<char>(error))));
  return status;
}

StoreError StoreErrorOf(const absl::Status& status) {
  if (status.ok()) return StoreError::kNone;
  const auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value() || payload->size() != 1) return StoreError::kNone;
  return static_cast<StoreError>(static_cast<uint8_t>((*payload)[0]));
}

}  // namespace tern::storage
