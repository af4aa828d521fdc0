#include "tests/support/protocol_frames.h"

#include <sstream>

namespace tern::testing {

std::string Pub(const std::string& subject, const std::string& payload, const std::string& reply) {
  return "PUB " + subject + (reply.empty() ? "" : " " + reply) + " " +
         std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
}

std::vector<Frame> ParseFrames(const std::string& out) {
  std::vector<Frame> frames;
  std::size_t pos = 0;
  while (pos < out.size()) {
    const std::size_t eol = out.find("\r\n", pos);
    if (eol == std::string::npos) break;
    std::istringstream line(out.substr(pos, eol - pos));
    pos = eol + 2;
    std::string op;
    line >> op;
    if (op != "MSG" && op != "HMSG") continue;
    std::vector<std::string> args;
    for (std::string arg; line >> arg;) args.push_back(arg);
    Frame f;
    f.subject = args[0];
    f.sid = args[1];
    const std::size_t total = std::stoul(args.back());
    const std::size_t header = op == "HMSG" ? std::stoul(args[args.size() - 2]) : 0;
    const std::size_t fixed = op == "HMSG" ? 4 : 3;
    if (args.size() > fixed) f.reply = args[2];
    f.header = out.substr(pos, header);
    f.payload = out.substr(pos + header, total - header);
    pos += total + 2;
    frames.push_back(f);
  }
  return frames;
}

std::vector<std::string> Payloads(const std::vector<Frame>& frames) {
  std::vector<std::string> payloads;
  for (const Frame& f : frames) payloads.push_back(f.payload);
  return payloads;
}

}  // namespace tern::testing
