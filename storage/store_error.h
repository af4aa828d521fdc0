#pragma once
// Why the store refused an operation, as a code the layers above map (JetStream to its API
// errors) without reading message text. It rides in the absl::Status as a payload, so the
// status keeps its canonical code and human text. Stateless.
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace tern::storage {

enum class StoreError : uint8_t {
  kNone = 0,         // not a refusal (ok, or a status without a code)
  kInvalidSubject,   // empty or too long
  kMessageTooLarge,  // over the stream's max_msg_size
  kSubjectLimit,     // discard new: max_msgs_per_subject reached
  kMsgsLimit,        // discard new: max_msgs reached
  kBytesLimit,       // discard new: max_bytes reached
};

// A status of the given canonical code and text, carrying `error`.
absl::Status MakeStoreError(absl::StatusCode code, StoreError error, std::string_view message);
// The code a status carries; kNone if it carries none.
StoreError StoreErrorOf(const absl::Status& status);

}  // namespace tern::storage
