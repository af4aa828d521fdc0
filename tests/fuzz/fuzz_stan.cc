// libFuzzer target: what a STAN client (or anyone) sends to the streaming service's subjects,
// through the protobuf reader of each of the thirteen messages (the first byte picks one).
// Nothing may crash or read past its input. Checked beyond that: what was read, written out
// and read again, writes out the same bytes; a channel name the reader accepts maps to a
// valid stream name and to its own subject; and a store's PubAck reply carries the guid and
// the client's reply through unchanged; the PubMsg fast reader agrees with the table reader.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/stan/channel.h"
#include "core/stan/protocol.h"
#include "core/stan/pub_ack_reply.h"

namespace {

using namespace tern::core::stan;

void Check(bool ok) {
  if (!ok) std::abort();
}

// Read, write, read again, write again: both writings agree.
template <typename Message>
void RoundTrip(std::string_view data) {
  Message first;
  if (!Decode(data, &first)) return;
  std::string written;
  Encode(first, &written);
  Message second;
  Check(Decode(written, &second));
  std::string again;
  Encode(second, &again);
  Check(again == written);
}

void CheckChannel(std::string_view channel) {
  if (!IsValidChannelName(channel)) return;
  const std::string stream = ChannelStreamName(channel);
  Check(!stream.empty() && stream.size() <= 255);
  Check(stream.find_first_of(".*> \t\r\n/\\") == std::string::npos);
  Check(ChannelSubject(channel) == std::string(kChannelSubjectPrefix) + std::string(channel));
  const std::string consumer = DurableConsumerName(channel);
  Check(!consumer.empty() && consumer.find_first_of(".*> \t\r\n/\\") == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  const std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  switch (bytes[0] % 13) {
    case 0: {
      RoundTrip<PubMsg>(data);
      PubMsg pub, by_table;
      const bool read = Decode(data, &pub);
      // The fast path reads what the table reader reads, and refuses what it refuses.
      Check(read == DecodePubMsgByTable(data, &by_table));
      if (!read) break;
      Check(pub.client_id == by_table.client_id && pub.guid == by_table.guid &&
            pub.subject == by_table.subject && pub.reply == by_table.reply &&
            pub.data == by_table.data && pub.conn_id == by_table.conn_id &&
            pub.sha256 == by_table.sha256);
      CheckChannel(pub.subject);
      // A store's reply that carries the guid gives back the client's reply and its PubAck.
      if (pub.guid.empty() || pub.reply.empty()) break;  // the gate refuses or does not ask
      const std::string reply = PubAckReply(pub.guid, pub.reply);
      std::string_view client;
      std::string body;
      Check(PubAckFor(reply, {}, &client, &body) && client == pub.reply);
      PubAck ack;
      Check(Decode(body, &ack) && ack.guid == pub.guid && ack.error.empty());
      break;
    }
    case 1:
      RoundTrip<PubAck>(data);
      break;
    case 2:
      RoundTrip<MsgProto>(data);
      break;
    case 3:
      RoundTrip<Ack>(data);
      break;
    case 4:
      RoundTrip<ConnectRequest>(data);
      break;
    case 5:
      RoundTrip<ConnectResponse>(data);
      break;
    case 6:
      RoundTrip<Ping>(data);
      break;
    case 7:
      RoundTrip<PingResponse>(data);
      break;
    case 8: {
      RoundTrip<SubscriptionRequest>(data);
      SubscriptionRequest request;
      if (Decode(data, &request)) CheckChannel(request.subject);
      break;
    }
    case 9:
      RoundTrip<SubscriptionResponse>(data);
      break;
    case 10:
      RoundTrip<UnsubscribeRequest>(data);
      break;
    case 11:
      RoundTrip<CloseRequest>(data);
      break;
    default:
      RoundTrip<CloseResponse>(data);
      break;
  }
  return 0;
}
