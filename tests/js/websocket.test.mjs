// nats.ws 1.30 (the browser client, here on Node with the `ws` package as its WebSocket)
// against tern-server's websocket port: connect, publish/subscribe with a TCP client on
// the other side (a 200 KiB payload too), request/reply with headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { connect as connectTcp, StringCodec } from "nats";
import { startServer } from "./server.mjs";

globalThis.WebSocket = WebSocket;
const { connect: connectWs, headers } = await import("nats.ws");

const sc = StringCodec();
let server, ws, tcp;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "tern-ws-"));
  const config = join(dir, "ws.conf");
  writeFileSync(config, "websocket {\n  port: -1\n  no_tls: true\n}\n");
  server = await startServer("-c", config);
  assert.ok(server.websocket, "the ports file names the websocket port");
  ws = await connectWs({ servers: server.websocket });
  tcp = await connectTcp({ servers: server.servers });
});

after(async () => {
  await ws?.close();
  await tcp?.close();
  await server?.stop();
});

test("a WebSocket client and a TCP client exchange messages", async () => {
  const fromTcp = ws.subscribe("to.ws", { max: 2 });
  const fromWs = tcp.subscribe("to.tcp", { max: 1 });
  await ws.flush();
  await tcp.flush();
  tcp.publish("to.ws", sc.encode("hello browser"));
  const big = "x".repeat(200 * 1024);
  tcp.publish("to.ws", sc.encode(big));
  ws.publish("to.tcp", sc.encode("hello server"));
  const got = [];
  for await (const m of fromTcp) got.push(sc.decode(m.data));
  assert.deepEqual(got, ["hello browser", big]);
  for await (const m of fromWs) assert.equal(sc.decode(m.data), "hello server");
});

test("request/reply and headers over WebSocket", async () => {
  const responder = tcp.subscribe("svc.echo");
  (async () => {
    for await (const m of responder) {
      const h = headers();
      h.set("X-Seen", m.headers?.get("X-Asked") ?? "none");
      m.respond(m.data, { headers: h });
    }
  })();
  await tcp.flush();
  const h = headers();
  h.set("X-Asked", "yes");
  const reply = await ws.request("svc.echo", sc.encode("ping"), { timeout: 5000, headers: h });
  assert.equal(sc.decode(reply.data), "ping");
  assert.equal(reply.headers.get("X-Seen"), "yes");
  responder.unsubscribe();
});
