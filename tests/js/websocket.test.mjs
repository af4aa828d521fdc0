// nats.ws 1.30 (the browser client, here on Node with the `ws` package as its WebSocket)
// against tern-server's websocket port, with permessage-deflate off and on (`ws` offers
// it; the server agrees only with `compression: true`): publish/subscribe with a TCP client
// on the other side (a 200 KiB payload too), request/reply with headers, and KV.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { connect as connectTcp, StringCodec } from "nats";
import { startServer } from "./server.mjs";

// Keeps every socket nats.ws opens, to read the extensions the server agreed to.
const sockets = [];
class RecordingWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    sockets.push(this);
  }
}
globalThis.WebSocket = RecordingWebSocket;
const { connect: connectWs, headers } = await import("nats.ws");

const sc = StringCodec();

for (const compression of [false, true]) {
  describe(`websocket, compression ${compression ? "on" : "off"}`, () => {
    let server, ws, tcp;

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), "tern-ws-"));
      const config = join(dir, "ws.conf");
      writeFileSync(
        config,
        `websocket {\n  port: -1\n  no_tls: true\n  compression: ${compression}\n}\n`,
      );
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

    test("permessage-deflate is agreed only when configured", () => {
      const agreed = sockets.at(-1).extensions.includes("permessage-deflate");
      assert.equal(agreed, compression);
    });

    test("a WebSocket client and a TCP client exchange messages", async () => {
      const fromTcp = ws.subscribe("to.ws", { max: 3 });
      const fromWs = tcp.subscribe("to.tcp", { max: 2 });
      await ws.flush();
      await tcp.flush();
      tcp.publish("to.ws", sc.encode("hello browser"));
      const big = "x".repeat(200 * 1024);
      tcp.publish("to.ws", sc.encode(big));
      const varied = Array.from({ length: 5000 }, (_, i) => `${i * 7919}`).join(",");
      tcp.publish("to.ws", sc.encode(varied));
      ws.publish("to.tcp", sc.encode("hello server"));
      ws.publish("to.tcp", sc.encode(varied));
      const got = [];
      for await (const m of fromTcp) got.push(sc.decode(m.data));
      assert.deepEqual(got, ["hello browser", big, varied]);
      const back = [];
      for await (const m of fromWs) back.push(sc.decode(m.data));
      assert.deepEqual(back, ["hello server", varied]);
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

    test("KV over WebSocket, read back from TCP", async () => {
      const kv = await ws.jetstream().views.kv("wsbucket", { history: 3 });
      await kv.put("colour", sc.encode("blue"));
      await kv.put("colour", sc.encode("green"));
      assert.equal(sc.decode((await kv.get("colour")).value), "green");
      const fromTcp = await tcp.jetstream().views.kv("wsbucket");
      const entry = await fromTcp.get("colour");
      assert.equal(sc.decode(entry.value), "green");
      assert.equal(entry.revision, 2);
      await kv.delete("colour");
      assert.equal((await fromTcp.get("colour")).operation, "DEL");
    });
  });
}
