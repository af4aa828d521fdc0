// MQTT.js 5 (the client Node and browser dashboards use, at MQTT 3.1.1) against
// tern-server's MQTT port, with a NATS client on the other side: QoS 1 both ways through
// JetStream, NATS publishes at QoS 0, retained messages, a will, a persistent session
// that keeps a QoS 1 message while its client is away, QoS 2 both ways, and MQTT 5 request/
// reply with a NATS service (user properties as headers, the response topic as reply).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { connect as connectNats, headers as natsHeaders, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const sc = StringCodec();
let server, nats;

before(async () => {
  server = await startServer("-n", "js-mqtt", "--mqtt_port", "-1");
  assert.ok(server.mqtt, "the ports file names the MQTT port");
  nats = await connectNats({ servers: server.servers });
});

after(async () => {
  await nats?.close();
  await server?.stop();
});

async function mqttClient(options = {}) {
  const client = await mqtt.connectAsync(server.mqtt, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...options,
  });
  return client;
}

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

test("QoS 1 between MQTT clients, and NATS on both sides", async () => {
  const sub = await mqttClient({ clientId: "js-sub" });
  const pub = await mqttClient({ clientId: "js-pub" });
  const granted = await sub.subscribeAsync("dev/+/temp", { qos: 1 });
  assert.equal(granted[0].qos, 1);
  const fromNats = nats.subscribe("dev.*.temp", { max: 1 });
  await nats.flush();
  const arriving = nextMessages(sub, 2);
  await pub.publishAsync("dev/7/temp", "21.5", { qos: 1 }); // resolves on PUBACK
  nats.publish("dev.8.temp", sc.encode("19.0"));
  const got = await arriving;
  assert.deepEqual(
    got.map(([topic, payload, packet]) => [topic, payload, packet.qos]),
    [
      ["dev/7/temp", "21.5", 1],
      ["dev/8/temp", "19.0", 0],
    ],
  );
  for await (const m of fromNats) {
    assert.equal(m.subject, "dev.7.temp");
    assert.equal(m.headers?.get("Nmqtt-Pub"), "1");
    assert.equal(sc.decode(m.data), "21.5");
  }
  await sub.endAsync();
  await pub.endAsync();
});

test("retained messages reach later subscribers with the retain flag", async () => {
  const pub = await mqttClient({ clientId: "js-retainer" });
  await pub.publishAsync("status/door", "open", { qos: 1, retain: true });
  await pub.publishAsync("status/door", "closed", { qos: 1, retain: true });
  const late = await mqttClient({ clientId: "js-late" });
  const arriving = nextMessages(late, 1);
  await late.subscribeAsync("status/#", { qos: 1 });
  const [[topic, payload, packet]] = await arriving;
  assert.deepEqual([topic, payload, packet.retain], ["status/door", "closed", true]);
  await late.endAsync();
  await pub.endAsync();
});

test("a will goes out when the connection drops", async () => {
  const wills = nats.subscribe("lwt.>", { max: 1 });
  await nats.flush();
  const client = await mqttClient({
    clientId: "js-will",
    will: { topic: "lwt/js-will", payload: Buffer.from("offline"), qos: 0 },
  });
  client.stream.destroy(); // no DISCONNECT
  for await (const m of wills) assert.equal(sc.decode(m.data), "offline");
  client.end(true);
});

test("a persistent session keeps its QoS 1 messages while away", async () => {
  const options = { clientId: "js-persist", clean: false };
  const first = await mqttClient(options);
  await first.subscribeAsync("orders/new", { qos: 1 });
  await first.endAsync();
  const pub = await mqttClient({ clientId: "js-orders" });
  await pub.publishAsync("orders/new", "order-1", { qos: 1 });
  await pub.endAsync();
  let sessionPresent = false;
  const again = mqtt.connect(server.mqtt, { protocolVersion: 4, reconnectPeriod: 0, ...options });
  again.on("connect", (connack) => (sessionPresent = connack.sessionPresent));
  const [[topic, payload]] = await nextMessages(again, 1);
  assert.equal(sessionPresent, true);
  assert.deepEqual([topic, payload], ["orders/new", "order-1"]);
  await again.endAsync();
});

test("QoS 2 both ways: exactly once, beyond nats-server 2.9", async () => {
  const sub = await mqttClient({ clientId: "js-q2-sub" });
  const pub = await mqttClient({ clientId: "js-q2-pub" });
  const granted = await sub.subscribeAsync("exact/#", { qos: 2 });
  assert.equal(granted[0].qos, 2);
  const fromNats = nats.subscribe("exact.>", { max: 2 });
  await nats.flush();
  const arriving = nextMessages(sub, 2);
  // Resolves once PUBREC, PUBREL and PUBCOMP are done.
  await pub.publishAsync("exact/meter", "kWh=12.5", { qos: 2 });
  await pub.publishAsync("exact/meter", "kWh=12.6", { qos: 2, retain: true });
  const got = await arriving;
  assert.deepEqual(
    got.map(([topic, payload, packet]) => [topic, payload, packet.qos]),
    [
      ["exact/meter", "kWh=12.5", 2],
      ["exact/meter", "kWh=12.6", 2],
    ],
  );
  const natsSaw = [];
  for await (const m of fromNats) natsSaw.push([sc.decode(m.data), m.headers?.get("Nmqtt-Pub")]);
  assert.deepEqual(natsSaw, [
    ["kWh=12.5", "2"],
    ["kWh=12.6", "2"],
  ]);
  // The retained copy reaches a later QoS 2 subscriber, and its exchange completes.
  const late = await mqttClient({ clientId: "js-q2-late" });
  const retained = nextMessages(late, 1);
  await late.subscribeAsync("exact/#", { qos: 2 });
  const [[topic, payload, packet]] = await retained;
  assert.deepEqual([topic, payload, packet.retain], ["exact/meter", "kWh=12.6", true]);
  for (const client of [sub, pub, late]) await client.endAsync();
});

test("MQTT 5: user properties as NATS headers, a NATS service answering a request", async () => {
  const client = await mqttClient({ protocolVersion: 5, clientId: "js-v5" });
  // A NATS service: answers on the reply subject, which is the MQTT response topic.
  const service = nats.subscribe("svc.clock", { max: 1 });
  (async () => {
    for await (const m of service) {
      const h = natsHeaders();
      h.set("Served-By", "nats");
      m.respond(sc.encode(`now for ${m.headers?.get("tenant")}`), { headers: h });
    }
  })();
  await nats.flush();
  await client.subscribeAsync("answers/js", { qos: 0 });
  const answer = nextMessages(client, 1);
  await client.publishAsync("svc/clock", "what time?", {
    qos: 1,
    properties: { responseTopic: "answers/js", userProperties: { tenant: "acme" } },
  });
  const [[topic, payload, packet]] = await answer;
  assert.equal(topic, "answers/js");
  assert.equal(payload, "now for acme");
  assert.deepEqual({ ...packet.properties?.userProperties }, { "Served-By": "nats" });
  await client.endAsync();
});
