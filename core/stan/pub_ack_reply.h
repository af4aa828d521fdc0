#pragma once
// The reply subject with which the STAN service stores a publish when the channel's stream
// is to answer the client itself: `_STAN.pa.<guid>.<client's reply>`. The stream (on its
// own shard) then sends STAN's protobuf PubAck{guid, error} to the client's reply once the
// message is stored, instead of JetStream's JSON to the service: the answer skips shard 0's
// service. Pure functions; what any shard may call.
#include <string>
#include <string_view>

namespace tern::core::stan {

inline constexpr std::string_view kPubAckReplyPrefix = "_STAN.pa.";

// The store's reply for this publish; empty when the guid cannot ride in a subject token (the
// service then answers the publish itself). Clients' guids are NUIDs: letters and digits.
std::string PubAckReply(std::string_view guid, std::string_view client_reply);

// For a reply made by PubAckReply: the client's reply and the PubAck to send it (`error`
// empty when stored). False for any other reply.
bool PubAckFor(std::string_view reply, std::string_view error, std::string_view* client_reply,
               std::string* body);

}  // namespace tern::core::stan
