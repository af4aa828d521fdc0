// MQTT.js 5 at MQTT 5.0 over WebSocket (ws://host:port/mqtt, as a browser dashboard connects),
// with NATS and MQTT-over-TCP clients on the other side: user properties and content type
// both ways, QoS 1, a subscription identifier, Retain As Published, and a will held for its
// Will Delay Interval.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { connect as connectNats, headers as natsHeaders, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const sc = StringCodec();
let server, nats, url, dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tern-mqtt-ws-"));
  const config = join(dir, "mqtt-ws.conf");
  writeFileSync(config, "server_name: js-mqtt-ws\nwebsocket {\n  port: -1\n  no_tls: true\n}\n");
  server = await startServer("-c", config, "--mqtt_port", "-1");
  assert.ok(server.websocket && server.mqtt, "the ports file names both ports");
  url = `${server.websocket}/mqtt`;
  nats = await connectNats({ servers: server.servers });
});

after(async () => {
  await nats?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const v5 = (clientId, options = {}) => ({
  protocolVersion: 5,
  clientId,
  reconnectPeriod: 0,
  ...options,
});

// The next `count` messages a client receives: [topic, payload, packet].
function nextMessages(client, count) {
  return new Promise((resolve) => {
    const got = [];
    const onMessage = (topic, payload, packet) => {
      got.push([topic, payload.toString(), packet]);
      if (got.length === count) {
        client.off("message", onMessage);
        resolve(got);
      }
    };
    client.on("message", onMessage);
  });
}

test("MQTT 5 over WebSocket: properties both ways, QoS 1, a subscription identifier", async () => {
  const browser = await mqtt.connectAsync(url, v5("ws-v5"));
  const device = await mqtt.connectAsync(server.mqtt, v5("tcp-v5"));
  await browser.subscribeAsync("down/#", { qos: 1, properties: { subscriptionIdentifier: 42 } });
  const fromNats = nats.subscribe("up.x", { max: 1 });
  await nats.flush();
  await browser.publishAsync("up/x", "from-browser", {
    qos: 1,
    properties: { userProperties: { site: "berlin" }, contentType: "text/plain" },
  });
  for await (const m of fromNats) {
    assert.equal(sc.decode(m.data), "from-browser");
    assert.equal(m.headers?.get("site"), "berlin");
    assert.equal(m.headers?.get("Nmqtt-Content-Type"), "text/plain");
  }
  const arriving = nextMessages(browser, 2);
  const h = natsHeaders();
  h.set("X-Id", "7");
  nats.publish("down.nats", sc.encode("to-browser"), { headers: h });
  await nats.flush();
  await device.publishAsync("down/device", "reading", { qos: 1 });
  const got = await arriving;
  const byTopic = Object.fromEntries(got.map(([topic, payload, packet]) => [topic, [payload, packet]]));
  const [natsPayload, natsPacket] = byTopic["down/nats"];
  assert.equal(natsPayload, "to-browser");
  assert.deepEqual({ ...natsPacket.properties?.userProperties }, { "X-Id": "7" });
  assert.ok([natsPacket.properties?.subscriptionIdentifier].flat().includes(42));
  const [devicePayload, devicePacket] = byTopic["down/device"];
  assert.equal(devicePayload, "reading");
  assert.equal(devicePacket.qos, 1);
  assert.ok([devicePacket.properties?.subscriptionIdentifier].flat().includes(42));
  await browser.endAsync();
  await device.endAsync();
});

test("MQTT 5 over WebSocket: Retain As Published, and a delayed will", async () => {
  const device = await mqtt.connectAsync(server.mqtt, v5("tcp-rap-pub"));
  const browser = await mqtt.connectAsync(url, v5("ws-rap"));
  await browser.subscribeAsync("lamp/#", { qos: 0, rap: true });
  const arriving = nextMessages(browser, 1);
  await device.publishAsync("lamp/state", "on", { qos: 1, retain: true });
  const [[topic, payload, packet]] = await arriving;
  assert.deepEqual([topic, payload, packet.retain], ["lamp/state", "on", true]);
  await device.endAsync();
  await browser.endAsync();

  const wills = nats.subscribe("wsgone.>", { max: 1 });
  await nats.flush();
  const dying = await mqtt.connectAsync(
    url,
    v5("ws-will", {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic: "wsgone/ws-will",
        payload: Buffer.from("offline"),
        qos: 0,
        properties: { willDelayInterval: 1 },
      },
    }),
  );
  const droppedAt = Date.now();
  dying.stream.destroy(); // no DISCONNECT
  for await (const m of wills) {
    assert.equal(sc.decode(m.data), "offline");
    assert.ok(Date.now() - droppedAt >= 950, "held for its Will Delay Interval");
  }
  dying.end(true);
});
