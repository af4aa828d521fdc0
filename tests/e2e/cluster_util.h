#pragma once
// Helpers of the cluster end-to-end tests: nodes (Tern or nats-server) on random route
// ports, subscriptions that keep everything, and waits for interest to cross a route.
#include <nats/nats.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace tern::e2e {

// A node of a test cluster: Tern or nats-server, cluster C1, listening for routes on a
// random port (unless `extra` names one) and for clients on 127.0.0.1.
std::unique_ptr<ServerProcess> StartNode(bool nats, const std::string& name,
                                         const std::vector<std::string>& routes,
                                         std::vector<std::string> extra = {});
// A synchronous subscription without pending limits.
natsSubscription* SubSync(natsConnection* nc, const char* subject, const char* queue = nullptr);
// Receives from the subscriptions until `expected` messages arrived in all (waiting up to
// 20 s: a slow machine or a sanitizer build), then a little longer for any extra one (a
// duplicate). Returns each subscription's payloads.
std::vector<std::vector<std::string>> Receive(const std::vector<natsSubscription*>& subs,
                                              std::size_t expected);
// Waits until a subscription made on `sub_nc` is known on the node of `pub_nc`: probes on
// a subject of its own until one arrives. Interest a connection made before the probe's
// travels ahead of it, so it is known too.
void AwaitRoute(natsConnection* pub_nc, natsConnection* sub_nc);
// A port in 20000-32000 (below the kernel's ephemeral range) that is free now, never
// handed out twice: a lock file in /tmp/tern-test-ports, held until the process exits,
// keeps it from the other test processes running beside this one (the Go tests too).
int FreePort();

}  // namespace tern::e2e
