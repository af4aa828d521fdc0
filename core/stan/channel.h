#pragma once
// A STAN channel's name and where it is kept: the names nats-streaming-server accepts, the
// JetStream stream that holds a channel (`STAN_<name>`) and the subject its messages are
// stored under (`_STAN.ch.<channel>`; docs/STAN.md). Pure functions; any thread.
#include <string>
#include <string_view>

namespace tern::core::stan {

inline constexpr std::string_view kChannelSubjectPrefix = "_STAN.ch.";
inline constexpr std::string_view kStreamPrefix = "STAN_";

// As nats-streaming-server: not empty, no wildcard, no '/', no empty token (a leading,
// trailing or doubled '.').
bool IsValidChannelName(std::string_view channel);

// The stream of a (valid) channel: `STAN_` and the channel with '.' as '_' when the channel
// holds only letters, digits, '-' and '.' and is short; otherwise those characters kept,
// the rest as '_', cut at 200, and an 8-character hash of the whole name appended, so that
// two channels never share a stream by accident (the stream's metadata names its channel,
// which the service checks).
std::string ChannelStreamName(std::string_view channel);

// `_STAN.ch.<channel>`: the one subject of the channel's stream.
std::string ChannelSubject(std::string_view channel);

// The JetStream consumer behind a durable subscription, from its key (nats-streaming-server's
// `clientID-channel-durable`, or `durable:group` for a durable queue group): the key's
// letters, digits and '-' ('_' for the rest, cut at 150) and its hash, so it is a valid
// consumer name, the same in every run, and two keys never share one by accident.
std::string DurableConsumerName(std::string_view key);

}  // namespace tern::core::stan
