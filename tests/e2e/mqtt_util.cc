#include "mqtt_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cluster_util.h"

namespace tern::e2e::mqtt {

std::string Str(const std::string& text) {
  std::string out;
  out.push_back(static_cast<char>(text.size() >> 8));
  out.push_back(static_cast<char>(text.size() & 0xff));
  return out + text;
}

std::string Packet(uint8_t first_byte, const std::string& body) {
  std::string out(1, static_cast<char>(first_byte));
  std::size_t len = body.size();
  do {
    uint8_t byte = len % 128;
    len /= 128;
    if (len > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (len > 0);
  return out + body;
}

std::string Connect(const ConnectSpec& spec) {
  std::string body = Str(spec.protocol);
  body.push_back(static_cast<char>(spec.level));
  body.push_back(static_cast<char>(spec.flags));
  body.push_back(static_cast<char>(spec.keepalive >> 8));
  body.push_back(static_cast<char>(spec.keepalive & 0xff));
  body += Str(spec.client_id);
  if (spec.flags & 0x04) body += Str(spec.will_topic) + Str(spec.will_message);
  if (spec.flags & 0x80) body += Str(spec.user);
  if (spec.flags & 0x40) body += Str(spec.password);
  return Packet(0x10, body);
}

std::string Publish(const std::string& topic, const std::string& payload, uint8_t qos,
                    uint16_t packet_id, bool retain) {
  std::string body = Str(topic);
  if (qos > 0) {
    body.push_back(static_cast<char>(packet_id >> 8));
    body.push_back(static_cast<char>(packet_id & 0xff));
  }
  return Packet(static_cast<uint8_t>(0x30 | (qos << 1) | (retain ? 1 : 0)), body + payload);
}

std::string Subscribe(uint16_t packet_id,
                      const std::vector<std::pair<std::string, uint8_t>>& filters) {
  std::string body;
  body.push_back(static_cast<char>(packet_id >> 8));
  body.push_back(static_cast<char>(packet_id & 0xff));
  for (const auto& [topic, qos] : filters)
    body += Str(topic) + std::string(1, static_cast<char>(qos));
  return Packet(0x82, body);
}

std::string Unsubscribe(uint16_t packet_id, const std::vector<std::string>& filters) {
  std::string body;
  body.push_back(static_cast<char>(packet_id >> 8));
  body.push_back(static_cast<char>(packet_id & 0xff));
  for (const std::string& topic : filters) body += Str(topic);
  return Packet(0xa2, body);
}

std::string Hex(const std::string& bytes) {
  std::string out;
  char buffer[4];
  for (unsigned char c : bytes) {
    std::snprintf(buffer, sizeof buffer, "%02x", c);
    if (!out.empty()) out.push_back(' ');
    out += buffer;
  }
  return out;
}

// The cluster tests' allocator: outside the kernel's ephemeral range, never the same port
// twice, locked against other test processes. Binding port 0 and closing it handed out an
// ephemeral port that the server's own random monitor port (-m -1) could take first: the
// server then failed at start with "address already in use".
int FreePort() { return e2e::FreePort(); }

std::unique_ptr<ServerProcess> StartMqttServer(bool nats, const std::string& extra, int* mqtt_port,
                                               const std::vector<std::string>& args,
                                               const std::string& in_block) {
  *mqtt_port = FreePort();
  const std::string store = WriteConfig("");
  const std::string config = WriteConfig(
      "server_name: mqtt_test\njetstream { store_dir: \"" + store.substr(0, store.rfind('/')) +
      "/js\" }\nmqtt {\n port: " + std::to_string(*mqtt_port) + "\n " + in_block + "\n}\n" + extra);
  std::vector<std::string> all = {"-a", "127.0.0.1", "-c", config};
  all.insert(all.end(), args.begin(), args.end());
  return nats ? ServerProcess::Start(all, NatsServerPath()) : ServerProcess::Start(all);
}

std::unique_ptr<RawConn> Login(int port, const std::string& client_id, uint16_t keepalive,
                               const std::string& extra_connect) {
  auto conn = std::make_unique<RawConn>(port, /*read_info=*/false);
  ConnectSpec spec;
  spec.client_id = client_id;
  spec.keepalive = keepalive;
  conn->Send(extra_connect.empty() ? Connect(spec) : extra_connect);
  conn->ReadUntil(std::string("\x20\x02\x00\x00", 4), 10000);
  return conn;
}

void WaitUntilGone(ServerProcess& server, const std::string& client_id, int closed) {
  const std::string query = "/connz?state=closed&limit=1000&mqtt_client=" + client_id;
  for (int i = 0; i < 200; ++i) {
    const auto connz =
        nlohmann::json::parse(HttpGet(server.monitor_port(), query).body, nullptr, false);
    if (connz.is_object() && connz.contains("connections") && connz["connections"].is_array() &&
        static_cast<int>(connz["connections"].size()) >= closed) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << client_id << " still connected";
}

}  // namespace tern::e2e::mqtt
