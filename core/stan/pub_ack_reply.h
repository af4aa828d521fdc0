#pragma once
// The reply subject with which a STAN publish is stored when the channel's stream is to
// answer the client itself: `_STAN.pa.<guid>.<client's reply>`, or `_STAN.px.<guid in
// hex>.<client's reply>` for a guid that cannot be a subject token as it is. The stream (on
// its own shard) then sends STAN's protobuf PubAck{guid, error} to the client's reply once
// the message is stored, instead of JetStream's JSON. Pure functions; what any shard may call.
#include <string>
#include <string_view>

namespace tern::core::stan {

inline constexpr std::string_view kPubAckReplyPrefix = "_STAN.pa.";
inline constexpr std::string_view kPubAckHexReplyPrefix = "_STAN.px.";

// Appends the store's reply for this publish to *out. The client's reply must not be empty.
void AppendPubAckReply(std::string_view guid, std::string_view client_reply, std::string* out);
std::string PubAckReply(std::string_view guid, std::string_view client_reply);

// For a reply made by PubAckReply: the client's reply and the PubAck to send it (`error`
// empty when stored). False for any other reply.
bool PubAckFor(std::string_view reply, std::string_view error, std::string_view* client_reply,
               std::string* body);

}  // namespace tern::core::stan
