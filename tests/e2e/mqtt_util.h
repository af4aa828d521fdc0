#pragma once
// An MQTT 3.1.1 client's side for the end-to-end tests: packets built byte by byte (so that
// malformed ones can be sent too), a CONNECT builder, and starting a server (Tern or
// nats-server) with an mqtt {} block.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace tern::e2e::mqtt {

// A length-prefixed MQTT string.
std::string Str(const std::string& text);
// A packet: the first byte (type and flags), the remaining length, the body.
std::string Packet(uint8_t first_byte, const std::string& body);

struct ConnectSpec {
  std::string protocol = "MQTT";
  uint8_t level = 4;
  uint8_t flags = 0x02;  // clean session
  uint16_t keepalive = 0;
  std::string client_id = "c1";
  std::string will_topic, will_message;  // with flag 0x04
  std::string user, password;            // with flags 0x80, 0x40
};
std::string Connect(const ConnectSpec& spec);
std::string Publish(const std::string& topic, const std::string& payload, uint8_t qos = 0,
                    uint16_t packet_id = 1, bool retain = false);
std::string Subscribe(uint16_t packet_id,
                      const std::vector<std::pair<std::string, uint8_t>>& filters);
std::string Unsubscribe(uint16_t packet_id, const std::vector<std::string>& filters);

// Bytes as hex pairs ("20 02 00 00").
std::string Hex(const std::string& bytes);

// A free TCP port on 127.0.0.1 (for nats-server, whose ports file has no MQTT entry): the
// cluster tests' allocator (cluster_util.h).
int FreePort();
// A server with `mqtt { port }` and JetStream (nats-server needs both and a name);
// `extra` is more config text, `in_block` more of the mqtt block. The MQTT port is
// *mqtt_port.
std::unique_ptr<ServerProcess> StartMqttServer(bool nats, const std::string& extra, int* mqtt_port,
                                               const std::vector<std::string>& args = {},
                                               const std::string& in_block = "");

// Connects and sends CONNECT; returns the connection once the CONNACK (accepted) is read.
std::unique_ptr<RawConn> Login(int port, const std::string& client_id, uint16_t keepalive = 0,
                               const std::string& extra_connect = "");

// Waits until the server (started with a monitoring port) lists `closed` ended connections of
// MQTT client `client_id` (/connz?state=closed): a connection is listed there only once its
// end was handled in full (its will, its session written), while a closing one is already
// missing from the open ones. A new CONNECT with the id before that would take it over.
void WaitUntilGone(ServerProcess& server, const std::string& client_id, int closed = 1);

}  // namespace tern::e2e::mqtt
