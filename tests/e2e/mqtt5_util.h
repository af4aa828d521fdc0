#pragma once
// An MQTT 5.0 client's side for the end-to-end tests: properties, packets and a CONNECT built
// byte by byte, and the server's PUBLISH packets read back as a 5.0 client reads them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mqtt_packet.h"
#include "harness.h"
#include "mqtt_util.h"

namespace tern::e2e::mqtt {

std::string VarInt(uint32_t value);
std::string U16(uint16_t v);
std::string U32(uint32_t v);
// A property: its id, then its value's bytes.
std::string Prop(uint8_t id, const std::string& value);
// A User Property.
std::string Pair(const std::string& key, const std::string& value);
// A property list: its length, then the properties.
std::string Props(const std::string& props);
// A 5.0 packet: the first byte, then the remaining length (variable byte integer), the body.
std::string Packet5(uint8_t first, const std::string& body);

struct Connect5Spec {
  std::string client_id = "v5";
  uint8_t flags = 0x02;  // clean start
  std::string props;
  std::string will_props, will_topic, will_message;
};
std::string Connect5(const Connect5Spec& spec);
std::string Publish5(const std::string& topic, const std::string& payload, uint8_t qos = 0,
                     uint16_t id = 0, const std::string& props = "", bool retain = false);
std::string Subscribe5(uint16_t id, const std::vector<std::pair<std::string, uint8_t>>& filters,
                       const std::string& props = "");

// Connects at 5.0; returns the connection once the CONNACK came (its bytes in *connack).
std::unique_ptr<RawConn> Login5(int port, const Connect5Spec& spec, std::string* connack = nullptr);

// The server's PUBLISH packets in `bytes`, read as a 5.0 client reads them (views into
// `bytes`); their topics in *topics.
std::vector<core::mqtt::Publish> Publishes(const std::string& bytes,
                                           std::vector<std::string>* topics);

// Reads from `conn` until `count` PUBLISH packets came or `timeout_ms` passed; returns the bytes.
std::string ReadPublishes(RawConn& conn, std::size_t count, int timeout_ms);

}  // namespace tern::e2e::mqtt
