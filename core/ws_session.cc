#include "core/ws_session.h"

#include <algorithm>

namespace tern::core {

WsSession::Step WsSession::Feed(std::string_view bytes, std::string* data, std::string* reply) {
  Step step;
  if (closing_) return step;
  if (!upgraded_) {
    head_.append(bytes);
    WsUpgradeRequest request;
    std::size_t used = 0;
    switch (ParseWsRequest(head_, &request, &used)) {
      case WsHeadStatus::kNeedMore:
        return step;
      case WsHeadStatus::kTooLarge:
        reply->append("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n");
        step.close = closing_ = true;
        step.reason = "websocket upgrade request too large";
        return step;
      case WsHeadStatus::kComplete:
        break;
    }
    if (used < head_.size()) {
      // nats-server closes without an answer: the client must wait for the 101.
      step.close = closing_ = true;
      step.reason = "client sent data before handshake is complete";
      return step;
    }
    head_.clear();
    head_.shrink_to_fit();
    upgrade_ = AnswerWsUpgrade(request, *policy_);
    reply->append(upgrade_.response);
    if (!upgrade_.ok) {
      step.close = closing_ = true;
      step.reason = "websocket upgrade refused: " + upgrade_.response.substr(9, 3);
      return step;
    }
    upgraded_ = step.upgraded_now = true;
    decoder_ = WsDecoder(!upgrade_.no_masking, upgrade_.compress);
    if (upgrade_.compress) deflater_ = std::make_unique<WsDeflater>();
    return step;
  }
  controls_.clear();
  const bool ok = decoder_.Feed(bytes, data, &controls_);
  for (const WsDecoder::Control& control : controls_) {
    if (control.opcode == kWsPing) {
      AppendWsFrame(kWsPong, control.payload, reply);
    } else if (control.opcode == kWsClose) {
      // Echo the status and reason; a close without a status gets 1005 back (as
      // nats-server 2.9 answers).
      if (control.payload.size() >= 2) {
        AppendWsFrame(kWsClose, control.payload, reply);
      } else {
        reply->append(WsCloseFrame(kWsCloseNoStatus, {}));
      }
      step.close = closing_ = true;
      step.reason = "websocket closed by the client";
      return step;
    }
  }
  if (!ok) {
    reply->append(WsCloseFrame(decoder_.close_code(), decoder_.error()));
    step.close = closing_ = true;
    step.reason = "websocket: " + decoder_.error();
  }
  return step;
}

void WsSession::AppendCompressed(std::string_view flush, std::string* out) {
  deflated_.clear();
  deflater_->Deflate(flush, &deflated_);
  constexpr uint8_t kRsv1 = 0x40;
  if (!upgrade_.browser || upgrade_.safari || deflated_.size() <= max_frame()) {
    AppendWsFrameHeader(kWsBinary | kRsv1, deflated_.size(), out);
    out->append(deflated_);
    return;
  }
  // Fragments: the first carries the opcode and RSV1, the rest are continuations, the
  // last has FIN.
  std::string_view left = deflated_;
  bool first = true;
  while (!left.empty()) {
    const std::size_t n = std::min(left.size(), max_frame());
    const bool fin = n == left.size();
    AppendWsFrameHeader(first ? (kWsBinary | kRsv1) : 0, n, out, fin);
    out->append(left.substr(0, n));
    left.remove_prefix(n);
    first = false;
  }
}

}  // namespace tern::core
