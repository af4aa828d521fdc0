#pragma once
// The error texts that more than one part of the STAN service sends (nats-streaming-server's,
// docs/STAN.md "Error strings"). Constants; any thread.
#include <string_view>

namespace tern::core::stan {

inline constexpr std::string_view kErrInvalidPubReq = "stan: invalid publish request";
inline constexpr std::string_view kErrChanDelInProgress = "stan: channel is being deleted";
// A channel whose stream was deleted outside the service (say, through $JS.API).
inline constexpr std::string_view kErrNoStream = "stan: the channel's stream is missing";

}  // namespace tern::core::stan
