// libFuzzer target: what an MQTT client sends, fed in pieces (the first byte sets the piece
// size) through the packet reader, and every packet through the readers of its type
// (CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, acks), as 3.1.1 and as 5.0 (properties, a
// DISCONNECT's). Nothing may crash or read past its
// input. Checked beyond that: packets read the same whatever the piece size, and a topic
// name that maps to a subject maps back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/mqtt_packet.h"
#include "core/mqtt_topic.h"

namespace {

using namespace tern::core::mqtt;

void Check(bool ok) {
  if (!ok) std::abort();
}

void ReadEach(const Packet& p) {
  std::string reason;
  switch (p.type) {
    case kConnect: {
      Connect c;
      uint8_t code = 0;
      ParseConnect(p.body, &c, &code, &reason);
      break;
    }
    case kPublish: {
      Publish v5;
      ParsePublish(p, &v5, &reason, /*v5=*/true);
      Publish publish;
      if (!ParsePublish(p, &publish, &reason)) break;
      std::string subject, topic;
      if (TopicToSubject(publish.topic, false, &subject, &reason)) {
        SubjectToTopic(subject, &topic);
        Check(topic == publish.topic);
      }
      break;
    }
    case kSubscribe:
    case kUnsubscribe: {
      uint16_t id = 0;
      std::vector<Filter> filters;
      Properties props;
      ParseSubscribe(p, p.type == kSubscribe, &id, &filters, &reason, /*v5=*/true, &props);
      if (!ParseSubscribe(p, p.type == kSubscribe, &id, &filters, &reason)) break;
      std::string subject;
      for (const Filter& f : filters) TopicToSubject(f.topic, true, &subject, &reason);
      break;
    }
    case kDisconnect: {
      std::string_view rest = p.body.empty() ? p.body : p.body.substr(1);
      Properties props;
      ReadProperties(&rest, kDisconnect, &props, &reason);
      break;
    }
    default: {
      uint16_t id = 0;
      ParsePacketId(p, &id);
    }
  }
}

// The packets' (type, size) list.
std::vector<std::pair<int, std::size_t>> ReadAll(std::string_view input, std::size_t piece) {
  std::vector<std::pair<int, std::size_t>> seen;
  std::string buffered;
  for (std::size_t at = 0; at < input.size(); at += piece) {
    buffered.append(input.substr(at, piece));
    for (;;) {
      Packet p;
      const ReadStatus status = ReadPacket(buffered, 4096, &p);
      if (status == ReadStatus::kNeedMore) break;
      if (status != ReadStatus::kPacket) {
        seen.emplace_back(-1, 0);
        return seen;
      }
      Check(p.size <= buffered.size() && p.body.size() < p.size);
      seen.emplace_back(p.type, p.size);
      ReadEach(p);
      buffered.erase(0, p.size);
    }
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 37;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Check(ReadAll(input, piece) == ReadAll(input, input.size() + 1));
  return 0;
}
