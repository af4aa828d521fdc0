#pragma once
// SocketConnection: what every connection kind over a socket shares (clients, routes, and
// the kinds to come): its shard and the shard's counters, plaintext output and, with TLS,
// the ciphertext queue, one send at a time, and the input held back while the shard stalls
// it (a delivery congested a subscriber). A kind parses its input (FeedInput) and decides
// what and when to send (Flush, through SendQueued). Owned by the connection's shard.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/connection.h"
#include "core/outbound.h"
#include "core/shard_port.h"
#include "core/tls/tls_session.h"
#include "core/ws_session.h"

namespace tern::core {

class SocketConnection : public Connection {
 public:
  // The reactor finished a send (bytes or -errno): what the kernel took leaves the queue.
  void OnSendDone(int result) final;
  // Stop / restart reading the socket; what had arrived meanwhile is parsed on restart.
  void Stall() final;
  void Unstall() final;

 protected:
  SocketConnection(ConnectionKind kind, uint64_t id, ShardPort* shard);

  // Parses plaintext input. Returns the bytes taken: fewer when the connection stalled or
  // closed on the way (the rest is held and fed again when it is released).
  virtual std::size_t FeedInput(const char* data, std::size_t len) = 0;
  // Who it is in log lines ("127.0.0.1:51234 - cid:5").
  virtual std::string LogLabel() const = 0;

  // Input after TLS: through the WebSocket session first when there is one, then parsed
  // now, or held while stalled.
  void TakeInput(const char* data, std::size_t len);
  // A connection on the websocket port: the HTTP upgrade comes first, then frames both
  // ways (ws_session.h); OnWebsocketUpgraded once the 101 is queued.
  void EnableWebsocket(const WsPolicy* policy);
  virtual void OnWebsocketUpgraded() {}
  // The close frame to send after what is queued (a close the server starts), unless one
  // went out already.
  void QueueWebsocketClose(uint16_t code, std::string_view reason);
  // Socket bytes of a link (route, leafnode, gateway): decrypted first when TLS is on, with
  // OnTlsEstablished once the handshake completes (before the first plaintext is parsed);
  // a TLS error is logged and closes the connection.
  void ReceiveBytes(const char* data, std::size_t len);
  virtual void OnTlsEstablished() {}
  // Starts TLS on the link: as the TLS client checking `host` (the dialler) or as the
  // server. False when it could not start (closed).
  bool StartTls(std::shared_ptr<const tls::TlsContext> context, bool client,
                const std::string& host);
  // Asks the shard to Flush this connection at the end of its turn.
  void MarkDirty();
  // Starts a send of what is queued, up to `limit` plaintext bytes from the head (a held
  // PONG's position), through TLS when it is on. False if nothing went (or it closed).
  bool SendQueued(uint64_t limit);
  // Nothing waits to go out: no protocol bytes, frames, close frame or TLS records.
  bool NothingQueued() const {
    return out_.empty() && ws_out_.empty() && ws_close_.empty() &&
           (!tls_ || (cipher_.empty() && !tls_->has_output()));
  }
  uint64_t PendingBytes() const {
    return out_.pending_bytes() + ws_out_.pending_bytes() + ws_close_.size() +
           cipher_.pending_bytes();
  }

  ShardPort* shard_;
  ShardStats* stats_;  // shard_->stats(), looked up once: counted on every message
  OutboundQueue out_;  // plaintext frames
  // TLS: the session and the ciphertext waiting for the socket (out_ then holds plaintext
  // until SendQueued encrypts it); buffers reused per read and per send.
  std::unique_ptr<tls::TlsSession> tls_;
  OutboundQueue cipher_;
  std::string tls_scratch_, tls_plain_;
  int64_t send_started_ns_ = 0;  // the send in flight started then; 0 = none
  // WebSocket: the session and the framed bytes (plaintext for TLS below it, when on).
  std::unique_ptr<WsSession> ws_;
  OutboundQueue ws_out_;

 private:
  void TakeProtocolInput(const char* data, std::size_t len);
  void TakeWebsocketInput(const char* data, std::size_t len);
  // Moves up to `limit` bytes of protocol output into binary frames on ws_out_; true when
  // bytes within the limit are left (a flush's iovec limit): come back next turn.
  bool FrameQueued(uint64_t limit);
  OutboundQueue& WireQueue() { return tls_ ? cipher_ : ws_ ? ws_out_ : out_; }
  std::string ws_data_, ws_reply_;
  std::string ws_flush_, ws_frames_;  // a flush gathered and deflated (compression agreed)
  std::string ws_close_;              // sent once the protocol output before it is framed
  std::string held_input_;            // received while stalled, parsed when released
  bool tls_established_ = false;      // OnTlsEstablished ran
};

}  // namespace tern::core
