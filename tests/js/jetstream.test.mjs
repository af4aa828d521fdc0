// nats.js 2.29 against tern-server: the JetStream manager, publish acks, the consumers API
// (fetch and consume with their heartbeats and 408 request ends), ordered consumers,
// legacy push subscriptions, and KV watch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, AckPolicy, DeliverPolicy, StringCodec, consumerOpts } from "nats";
import { startServer } from "./server.mjs";

const sc = StringCodec();
let server, nc, js, jsm;

before(async () => {
  server = await startServer();
  nc = await connect({ servers: server.servers });
  jsm = await nc.jetstreamManager();
  js = nc.jetstream();
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

// Resolves with the promise, or fails after ms (without keeping the process alive).
async function within(promise, ms) {
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function publishAll(subject, count, prefix = "m") {
  for (let i = 1; i <= count; i++) {
    const ack = await js.publish(subject, sc.encode(`${prefix}${i}`));
    assert.equal(ack.duplicate, false);
  }
}

test("stream add, publish acks and info", async () => {
  const info = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.*"] });
  assert.equal(info.config.name, "ORDERS");
  const ack = await js.publish("orders.new", sc.encode("hello"), { msgID: "a1" });
  assert.equal(ack.stream, "ORDERS");
  assert.equal(ack.seq, 1);
  const dup = await js.publish("orders.new", sc.encode("hello"), { msgID: "a1" });
  assert.equal(dup.duplicate, true);
  assert.equal(dup.seq, 1);
  const si = await jsm.streams.info("ORDERS");
  assert.equal(si.state.messages, 1);
  await assert.rejects(jsm.streams.info("MISSING"), /stream not found/);
  await assert.rejects(
    js.publish("orders.new", sc.encode("x"), { expect: { lastSequence: 9 } }),
    /wrong last sequence: 1/);
});

test("consumers API fetch ends at expiry with what there is", async () => {
  await jsm.streams.add({ name: "FETCH", subjects: ["fetch.>"] });
  await publishAll("fetch.a", 5);
  await jsm.consumers.add("FETCH", { durable_name: "f", ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get("FETCH", "f");
  const started = Date.now();
  const iter = await consumer.fetch({ max_messages: 10, expires: 1500 });
  const got = [];
  for await (const m of iter) {
    got.push(sc.decode(m.data));
    m.ack();
  }
  assert.deepEqual(got, ["m1", "m2", "m3", "m4", "m5"]);
  // The request stayed open for more until it expired, then ended cleanly (408).
  assert.ok(Date.now() - started >= 1000, "fetch waited for its expiry");
  const info = await consumer.info();
  assert.equal(info.num_pending, 0);
});

test("consume() keeps pulling across heartbeats and new messages", async () => {
  await jsm.streams.add({ name: "CONSUME", subjects: ["consume.>"] });
  await jsm.consumers.add("CONSUME", { durable_name: "c", ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get("CONSUME", "c");
  const messages = await consumer.consume({ max_messages: 4, expires: 1000 });
  const got = [];
  const done = (async () => {
    for await (const m of messages) {
      got.push(sc.decode(m.data));
      m.ack();
      if (got.length === 10) break;
    }
  })();
  // Published in two bursts, the second after a pull request expired (heartbeats and a
  // 408 in between must not stop the consumer).
  await publishAll("consume.x", 5, "a");
  await new Promise((r) => setTimeout(r, 1500));
  await publishAll("consume.x", 5, "b");
  await within(done, 8000);
  assert.deepEqual(got, ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4", "b5"]);
});

test("ordered consumer replays a stream from the start", async () => {
  await jsm.streams.add({ name: "ORDERED", subjects: ["ordered"] });
  await publishAll("ordered", 20);
  const consumer = await js.consumers.get("ORDERED");
  const iter = await consumer.fetch({ max_messages: 20, expires: 2000 });
  const got = [];
  for await (const m of iter) got.push(m.seq);
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i + 1));
});

test("legacy push subscription with manual acks", async () => {
  await jsm.streams.add({ name: "PUSH", subjects: ["push.*"] });
  await publishAll("push.a", 3);
  const opts = consumerOpts();
  opts.durable("pusher");
  opts.manualAck();
  opts.ackExplicit();
  opts.deliverTo("push-inbox-" + Date.now());
  const sub = await js.subscribe("push.*", opts);
  const got = [];
  for await (const m of sub) {
    got.push(sc.decode(m.data));
    m.ack();
    if (got.length === 3) break;
  }
  assert.deepEqual(got, ["m1", "m2", "m3"]);
});

test("KV put, get, watch and keys", async () => {
  const kv = await js.views.kv("settings", { history: 3 });
  await kv.put("color", sc.encode("red"));
  await kv.put("color", sc.encode("blue"));
  await kv.put("size", sc.encode("L"));
  const e = await kv.get("color");
  assert.equal(sc.decode(e.value), "blue");
  assert.equal(e.revision, 2);
  await assert.rejects(kv.create("size", sc.encode("M")), /wrong last sequence/);

  const watch = await kv.watch();
  const seen = [];
  const watching = (async () => {
    for await (const entry of watch) {
      seen.push(`${entry.key}=${sc.decode(entry.value)}`);
      if (seen.length === 3) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  await kv.put("shape", sc.encode("round"));
  await within(watching, 5000);
  assert.deepEqual(seen, ["color=blue", "size=L", "shape=round"]);

  const keys = [];
  for await (const k of await kv.keys()) keys.push(k);
  assert.deepEqual(keys.sort(), ["color", "shape", "size"]);
});
