#pragma once
// ConnInfo: what monitoring (/connz) shows of one client connection, copied out of a
// Client by its own shard when asked, or kept by that shard after the connection closed.
// Plain data: once copied, any thread may read it.
#include <cstdint>
#include <string>
#include <vector>

namespace tern::core {

struct SubInfo {
  std::string subject;
  std::string queue;
  std::string sid;
  uint64_t msgs = 0;
  uint64_t max = 0;
};

struct ConnInfo {
  uint64_t cid = 0;
  int shard = 0;
  std::string ip;
  int port = 0;
  int64_t start_unix_ns = 0;
  int64_t last_activity_unix_ns = 0;
  int64_t stop_unix_ns = 0;  // 0 while open
  int64_t rtt_ns = 0;        // 0 until the server's first PING was answered
  uint64_t pending_bytes = 0;
  uint64_t in_msgs = 0, out_msgs = 0, in_bytes = 0, out_bytes = 0;
  uint32_t num_subs = 0;
  std::string name, lang, version;
  std::string authorized_user;          // empty without user authentication
  std::string account;                  // the account's name ($G outside any)
  std::string tls_version, tls_cipher;  // empty on a plaintext connection
  bool websocket = false;               // came in on the websocket port (type "websocket")
  bool mqtt = false;                    // an MQTT client (type "mqtt")
  std::string mqtt_client;              // its MQTT client id
  std::string reason;                   // why it closed; empty while open
  std::vector<SubInfo> subs;            // filled only when asked for (connz subs=1)
};

}  // namespace tern::core
