#pragma once
// The client protocol as a test writes and reads it: PUB frames to send, and the MSG/HMSG
// frames a client was sent, parsed. For the loop tests (tests/support/shard_harness.h).
#include <cstddef>
#include <string>
#include <vector>

namespace tern::testing {

// "PUB <subject> [reply] <size>\r\n<payload>\r\n"
std::string Pub(const std::string& subject, const std::string& payload,
                const std::string& reply = "");

// One MSG or HMSG frame a client was sent.
struct Frame {
  std::string subject, sid, reply, header, payload;
};

// The MSG/HMSG frames in a client's output, in order (PING, PONG, +OK and -ERR skipped).
std::vector<Frame> ParseFrames(const std::string& out);
// Their payloads, in order.
std::vector<std::string> Payloads(const std::vector<Frame>& frames);

}  // namespace tern::testing
