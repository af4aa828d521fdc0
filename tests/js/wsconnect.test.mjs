// nats.js v3's WebSocket transport (`wsconnect` of @nats-io/nats-core 3.4, `ws` as the
// WebSocket on Node) against tern-server's websocket port, compression off and on: pub/sub
// with a v3 TCP client on the other side, request/reply with headers, JetStream publish and
// consume, and KV. v3 asks for Node 20 or newer; on an older Node these tests are skipped.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startServer } from "./server.mjs";

const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = nodeMajor < 20 ? `nats.js v3 needs Node >= 20 (this is ${process.version})` : false;

// Keeps every socket wsconnect opens, to read the extensions the server agreed to.
const sockets = [];
class RecordingWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    sockets.push(this);
  }
}
globalThis.WebSocket = RecordingWebSocket;

for (const compression of [false, true]) {
  describe(`wsconnect, compression ${compression ? "on" : "off"}`, { skip }, () => {
    let server, ws, tcp, core, jetstreamApi, kvApi;

    before(async () => {
      core = await import("@nats-io/nats-core");
      const transport = await import("@nats-io/transport-node");
      jetstreamApi = await import("@nats-io/jetstream");
      kvApi = await import("@nats-io/kv");
      const dir = mkdtempSync(join(tmpdir(), "tern-wsv3-"));
      const config = join(dir, "ws.conf");
      writeFileSync(
        config,
        `websocket {\n  port: -1\n  no_tls: true\n  compression: ${compression}\n}\n`,
      );
      server = await startServer("-c", config);
      ws = await core.wsconnect({ servers: server.websocket });
      tcp = await transport.connect({ servers: server.servers });
    });

    after(async () => {
      await ws?.close();
      await tcp?.close();
      await server?.stop();
    });

    test("permessage-deflate is agreed only when configured", () => {
      const agreed = sockets.at(-1).extensions.includes("permessage-deflate");
      assert.equal(agreed, compression);
    });

    test("messages both ways with a TCP client, one of 300 KiB", async () => {
      const fromTcp = ws.subscribe("v3ws.in", { max: 2 });
      const fromWs = tcp.subscribe("v3ws.out", { max: 2 });
      await ws.flush();
      await tcp.flush();
      const big = "telemetry;".repeat(30 * 1024);
      tcp.publish("v3ws.in", "hello");
      tcp.publish("v3ws.in", big);
      ws.publish("v3ws.out", "from the socket");
      ws.publish("v3ws.out", big);
      const got = [];
      for await (const m of fromTcp) got.push(m.string());
      assert.deepEqual(got, ["hello", big]);
      const back = [];
      for await (const m of fromWs) back.push(m.string());
      assert.deepEqual(back, ["from the socket", big]);
    });

    test("request/reply with headers", async () => {
      const responder = tcp.subscribe("v3ws.echo", {
        callback: (_, m) => {
          const h = core.headers();
          h.set("X-Seen", m.headers?.get("X-Asked") ?? "none");
          m.respond(m.data, { headers: h });
        },
      });
      await tcp.flush();
      const h = core.headers();
      h.set("X-Asked", "yes");
      const reply = await ws.request("v3ws.echo", "ping", { timeout: 5000, headers: h });
      assert.equal(reply.string(), "ping");
      assert.equal(reply.headers.get("X-Seen"), "yes");
      responder.unsubscribe();
      // Nobody listening: the server's no-responders status reaches the WebSocket client.
      await assert.rejects(ws.request("v3ws.nobody", "x", { timeout: 5000 }), (err) =>
        /no responders/i.test(String(err?.message) + String(err?.cause?.message)),
      );
    });

    test("JetStream publish and consume over WebSocket", async () => {
      const jsm = await jetstreamApi.jetstreamManager(ws);
      const name = `WSV3_${compression ? "Z" : "P"}`;
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      const js = jetstreamApi.jetstream(ws);
      for (let i = 1; i <= 5; i++) {
        const ack = await js.publish(`${name}.n`, `m${i}`);
        assert.equal(ack.seq, i);
      }
      await jsm.consumers.add(name, {
        durable_name: "reader",
        ack_policy: jetstreamApi.AckPolicy.Explicit,
      });
      const consumer = await js.consumers.get(name, "reader");
      const batch = await consumer.fetch({ max_messages: 5, expires: 3000 });
      const read = [];
      for await (const m of batch) {
        read.push(m.string());
        m.ack();
      }
      assert.deepEqual(read, ["m1", "m2", "m3", "m4", "m5"]);
    });

    test("KV written over WebSocket, read from TCP", async () => {
      const bucket = `wsv3${compression ? "z" : "p"}`;
      const kv = await new kvApi.Kvm(ws).create(bucket, { history: 2 });
      await kv.put("mode", "auto");
      await kv.put("mode", "manual");
      const fromTcp = await new kvApi.Kvm(tcp).open(bucket);
      const entry = await fromTcp.get("mode");
      assert.equal(entry.string(), "manual");
      assert.equal(entry.revision, 2);
      await kv.delete("mode");
      assert.equal((await fromTcp.get("mode")).operation, "DEL");
    });
  });
}
