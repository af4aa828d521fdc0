// nats.js v3 (@nats-io/transport-node, jetstream, kv, obj 3.4) against tern-server: the
// same JetStream paths as the 2.29 tests (manager, publish acks, fetch and consume,
// ordered consumers), KV with watch, and the object store (chunked put/get, links, list,
// delete). v3 asks for Node 20 or newer; on an older Node these tests are skipped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = nodeMajor < 20 ? `nats.js v3 needs Node >= 20 (this is ${process.version})` : false;

let server, nc, js, jsm, transport, jetstreamApi, kvApi, objApi;

before(async () => {
  if (skip) return;
  transport = await import("@nats-io/transport-node");
  jetstreamApi = await import("@nats-io/jetstream");
  kvApi = await import("@nats-io/kv");
  objApi = await import("@nats-io/obj");
  const { startServer } = await import("./server.mjs");
  server = await startServer();
  nc = await transport.connect({ servers: server.servers });
  jsm = await jetstreamApi.jetstreamManager(nc);
  js = jetstreamApi.jetstream(nc);
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

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

test("v3: publish, fetch and consume with explicit acks", { skip }, async () => {
  await jsm.streams.add({ name: "V3", subjects: ["v3.>"] });
  for (let i = 1; i <= 20; i++) {
    const ack = await js.publish("v3.orders", `m${i}`);
    assert.equal(ack.seq, i);
    assert.equal(ack.stream, "V3");
  }
  await jsm.consumers.add("V3", { durable_name: "work", ack_policy: jetstreamApi.AckPolicy.Explicit });
  const consumer = await js.consumers.get("V3", "work");
  const batch = await consumer.fetch({ max_messages: 5, expires: 2000 });
  const fetched = [];
  for await (const m of batch) {
    fetched.push(m.string());
    m.ack();
  }
  assert.deepEqual(fetched, ["m1", "m2", "m3", "m4", "m5"]);
  const messages = await consumer.consume({ max_messages: 4 });
  const consumed = [];
  await within((async () => {
    for await (const m of messages) {
      consumed.push(m.seq);
      await m.ackAck();
      if (consumed.length === 15) break;
    }
  })(), 10000);
  assert.deepEqual(consumed, Array.from({ length: 15 }, (_, i) => i + 6));
  const info = await consumer.info();
  assert.equal(info.num_ack_pending, 0);
  assert.equal(info.ack_floor.stream_seq, 20);
});

test("v3: ordered consumer reads the stream in order", { skip }, async () => {
  await jsm.streams.add({ name: "ORD3", subjects: ["ord3.*"] });
  for (let i = 1; i <= 30; i++) await js.publish(`ord3.${i % 3}`, `o${i}`);
  const consumer = await js.consumers.get("ORD3");
  const messages = await consumer.consume();
  const seen = [];
  await within((async () => {
    for await (const m of messages) {
      seen.push(m.string());
      if (seen.length === 30) break;
    }
  })(), 10000);
  assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => `o${i + 1}`));
});

test("v3: KV put, get, delete and watch", { skip }, async () => {
  const kvm = new kvApi.Kvm(nc);
  const kv = await kvm.create("settings", { history: 3 });
  await kv.put("color", "blue");
  await kv.put("color", "green");
  const entry = await kv.get("color");
  assert.equal(entry.string(), "green");
  assert.equal(entry.revision, 2);
  const watch = await kv.watch({ key: "color" });
  const seen = [];
  const watching = within((async () => {
    for await (const e of watch) {
      seen.push(e.operation === "PUT" ? e.string() : e.operation);
      if (seen.length === 3) break;
    }
  })(), 10000);
  await kv.put("color", "red");
  await kv.delete("color");
  await watching;
  assert.deepEqual(seen, ["green", "red", "DEL"]);
  const deleted = await kv.get("color");
  assert.ok(deleted === null || deleted.operation === "DEL");
});

test("v3: object store put, get, links, list and delete", { skip }, async () => {
  const objm = new objApi.Objm(nc);
  const store = await objm.create("files", { description: "test files" });
  const big = new Uint8Array(1024 * 1024 + 4321);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) % 251;
  const info = await store.putBlob({ name: "blob.bin" }, big);
  assert.equal(info.size, big.length);
  assert.ok(info.chunks > 1);
  const back = await store.getBlob("blob.bin");
  assert.deepEqual(back, big);
  await store.putBlob({ name: "notes.txt" }, new TextEncoder().encode("hello"));
  await store.link("latest", info);
  const linked = await store.getBlob("latest");
  assert.equal(linked.length, big.length);
  const names = (await store.list()).map((o) => o.name).sort();
  assert.deepEqual(names, ["blob.bin", "latest", "notes.txt"]);
  await store.delete("blob.bin");
  assert.equal(await store.getBlob("blob.bin"), null);
  const status = await store.status();
  assert.ok(status.size < 64 * 1024, `size after delete: ${status.size}`);
  assert.equal(status.description, "test files");
  await store.destroy();
});

test("v3 with 2.10 features: multi-filter consumers, ordered consumers and KV watches", { skip }, async () => {
  await jsm.streams.add({ name: "MULTI", subjects: ["multi.>"], metadata: { team: "a" } });
  const info = await jsm.streams.info("MULTI");
  assert.equal(info.config.metadata.team, "a");
  for (const s of ["multi.a", "multi.b", "multi.c", "multi.a", "multi.c"]) await js.publish(s, s);
  await jsm.consumers.add("MULTI", {
    durable_name: "ac",
    ack_policy: jetstreamApi.AckPolicy.Explicit,
    filter_subjects: ["multi.a", "multi.c"],
  });
  const consumer = await js.consumers.get("MULTI", "ac");
  assert.deepEqual((await consumer.info()).config.filter_subjects, ["multi.a", "multi.c"]);
  const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
  const subjects = [];
  for await (const m of batch) {
    subjects.push(m.subject);
    m.ack();
  }
  assert.deepEqual(subjects, ["multi.a", "multi.c", "multi.a", "multi.c"]);

  const ordered = await js.consumers.get("MULTI", { filter_subjects: ["multi.b", "multi.c"] });
  const seen = [];
  const messages = await ordered.consume();
  await within((async () => {
    for await (const m of messages) {
      seen.push(m.subject);
      if (seen.length === 3) break;
    }
  })(), 10000);
  assert.deepEqual(seen, ["multi.b", "multi.c", "multi.c"]);

  const kv = await new kvApi.Kvm(nc).create("multiwatch");
  await kv.put("x", "1");
  await kv.put("y", "2");
  await kv.put("z", "3");
  const watch = await kv.watch({ key: ["x", "z"] });
  const keys = [];
  await within((async () => {
    for await (const e of watch) {
      keys.push(e.key);
      if (keys.length === 2) break;
    }
  })(), 10000);
  assert.deepEqual(keys.sort(), ["x", "z"]);
});
