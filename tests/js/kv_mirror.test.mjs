// nats.js 2.29: a KV bucket at the hub mirrors one at the edge through the edge's
// JetStream domain (`mirror: { name, domain }`), across a leafnode link between two
// tern-servers; reads at the hub (direct gets on the mirror) see the edge's values,
// including later ones.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const sc = StringCodec();
const cleanup = [];

after(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function freePort() {
  const probe = net.createServer();
  await new Promise((done) => probe.listen(0, "127.0.0.1", done));
  const { port } = probe.address();
  await new Promise((done) => probe.close(done));
  return port;
}

function configFile(text) {
  const path = join(mkdtempSync(join(tmpdir(), "tern-js-conf-")), "server.conf");
  writeFileSync(path, text);
  return path;
}

// Polls `read` until it returns `want` (or 15 s pass).
async function eventually(read, want) {
  const deadline = Date.now() + 15000;
  let seen;
  while (Date.now() < deadline) {
    try {
      seen = await read();
      if (seen === want) return seen;
    } catch {
      // not there yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return seen;
}

test("a KV bucket at the hub mirrors one at the edge through its domain", async () => {
  const leafPort = await freePort();
  const hub = await startServer(
    "-c", configFile(`jetstream { domain: hub }\nleafnodes { listen: 127.0.0.1:${leafPort} }\n`));
  cleanup.push(() => hub.stop());
  const edge = await startServer(
    "-c", configFile(`jetstream { domain: edge }\n` +
                     `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }\n`));
  cleanup.push(() => edge.stop());
  const atHub = await connect({ servers: hub.servers });
  const atEdge = await connect({ servers: edge.servers });
  cleanup.push(() => atHub.close(), () => atEdge.close());

  const edgeKv = await atEdge.jetstream().views.kv("config");
  await edgeKv.put("mode", sc.encode("fast"));
  await edgeKv.put("limit", sc.encode("10"));
  await edgeKv.put("mode", sc.encode("safe"));

  // The hub's bucket mirrors the edge's once the link is up (the create is local to the hub).
  const hubKv = await atHub.jetstream().views.kv("config_copy", {
    mirror: { name: "config", domain: "edge" },
  });
  const value = async (key) => sc.decode((await hubKv.get(key)).value);
  assert.equal(await eventually(() => value("mode"), "safe"), "safe");
  assert.equal(await value("limit"), "10");

  // Later writes at the edge reach the hub.
  await edgeKv.put("limit", sc.encode("20"));
  assert.equal(await eventually(() => value("limit"), "20"), "20");
  const info = await (await atHub.jetstreamManager()).streams.info("KV_config_copy");
  assert.equal(info.config.mirror.name, "KV_config");
  assert.equal(info.config.mirror.external.api, "$JS.edge.API");
  assert.equal(info.state.last_seq, 4);
});
