#include "core/stan/pub_ack_reply.h"

#include "core/stan/proto_wire.h"

namespace tern::core::stan {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Clients' guids are NUIDs (letters and digits): those ride as they are.
bool GuidToken(std::string_view guid) {
  if (guid.empty() || guid.size() > 64) return false;
  for (char c : guid) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool FromHex(std::string_view hex, std::string* out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  out->clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = HexValue(hex[i]), low = HexValue(hex[i + 1]);
    if (high < 0 || low < 0) return false;
    out->push_back(static_cast<char>(high * 16 + low));
  }
  return true;
}

}  // namespace

void AppendPubAckReply(std::string_view guid, std::string_view client_reply, std::string* out) {
  if (GuidToken(guid)) {
    out->append(kPubAckReplyPrefix).append(guid);
  } else {
    out->append(kPubAckHexReplyPrefix);
    for (char c : guid) {
      const auto byte = static_cast<unsigned char>(c);
      out->push_back(kHexDigits[byte >> 4]);
      out->push_back(kHexDigits[byte & 15]);
    }
  }
  out->append(".").append(client_reply);
}

std::string PubAckReply(std::string_view guid, std::string_view client_reply) {
  std::string reply;
  AppendPubAckReply(guid, client_reply, &reply);
  return reply;
}

bool PubAckFor(std::string_view reply, std::string_view error, std::string_view* client_reply,
               std::string* body) {
  const bool hex = reply.starts_with(kPubAckHexReplyPrefix);
  if (!hex && !reply.starts_with(kPubAckReplyPrefix)) return false;
  const std::string_view rest = reply.substr(kPubAckReplyPrefix.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot + 1 >= rest.size()) return false;
  std::string decoded;
  std::string_view guid = rest.substr(0, dot);
  if (hex) {
    if (!FromHex(guid, &decoded)) return false;
    guid = decoded;
  } else if (!GuidToken(guid)) {
    return false;
  }
  *client_reply = rest.substr(dot + 1);
  body->clear();
  ProtoWriter writer(body);  // PubAck{guid, error}, written directly: once per stored publish
  writer.Bytes(1, guid);
  writer.Bytes(2, error);
  return true;
}

}  // namespace tern::core::stan
