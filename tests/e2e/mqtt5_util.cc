#include "mqtt5_util.h"

#include <chrono>

namespace tern::e2e::mqtt {

namespace wire = tern::core::mqtt;

std::string VarInt(uint32_t value) {
  std::string out;
  do {
    uint8_t byte = value % 128;
    value /= 128;
    if (value > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (value > 0);
  return out;
}
std::string U16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string U32(uint32_t v) { return U16(static_cast<uint16_t>(v >> 16)) + U16(v & 0xffff); }
std::string Prop(uint8_t id, const std::string& value) { return std::string(1, id) + value; }
std::string Pair(const std::string& key, const std::string& value) {
  return Prop(0x26, Str(key) + Str(value));
}
std::string Props(const std::string& props) {
  return VarInt(static_cast<uint32_t>(props.size())) + props;
}
std::string Packet5(uint8_t first, const std::string& body) {
  return std::string(1, static_cast<char>(first)) + VarInt(static_cast<uint32_t>(body.size())) +
         body;
}

std::string Connect5(const Connect5Spec& s) {
  std::string body = Str("MQTT") + std::string(1, '\x05') +
                     std::string(1, static_cast<char>(s.flags)) + U16(0) + Props(s.props) +
                     Str(s.client_id);
  if (s.flags & 0x04) body += Props(s.will_props) + Str(s.will_topic) + Str(s.will_message);
  return Packet5(0x10, body);
}

std::string Publish5(const std::string& topic, const std::string& payload, uint8_t qos, uint16_t id,
                     const std::string& props, bool retain) {
  std::string body = Str(topic) + (qos > 0 ? U16(id) : "") + Props(props) + payload;
  return Packet5(static_cast<uint8_t>(0x30 | qos << 1 | (retain ? 1 : 0)), body);
}

std::string Subscribe5(uint16_t id, const std::vector<std::pair<std::string, uint8_t>>& filters,
                       const std::string& props) {
  std::string body = U16(id) + Props(props);
  for (const auto& [filter, options] : filters) body += Str(filter) + std::string(1, options);
  return Packet5(0x82, body);
}

std::unique_ptr<RawConn> Login5(int port, const Connect5Spec& spec, std::string* connack) {
  auto conn = std::make_unique<RawConn>(port, false);
  conn->Send(Connect5(spec));
  std::string got = conn->ReadUntil(std::string("\x20", 1), 10000);
  for (int i = 0; i < 20 && (got.size() < 2 || got.size() < 2u + static_cast<uint8_t>(got[1]));
       ++i) {
    got += conn->ReadFor(100);
  }
  if (connack != nullptr) *connack = got;
  return conn;
}

std::vector<wire::Publish> Publishes(const std::string& bytes, std::vector<std::string>* topics) {
  std::vector<wire::Publish> out;
  std::string_view rest = bytes;
  wire::Packet packet;
  while (wire::ReadPacket(rest, 1 << 24, &packet) == wire::ReadStatus::kPacket) {
    wire::Publish publish;
    std::string reason;
    if (packet.type == wire::kPublish && wire::ParsePublish(packet, &publish, &reason, true)) {
      out.push_back(publish);
      topics->emplace_back(publish.topic);
    }
    rest.remove_prefix(packet.size);
  }
  return out;
}

std::string ReadPublishes(RawConn& conn, std::size_t count, int timeout_ms) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline && !conn.closed()) {
    got += conn.ReadFor(100);
    std::vector<std::string> topics;
    if (Publishes(got, &topics).size() >= count) break;
  }
  return got;
}

}  // namespace tern::e2e::mqtt
