// node-nats-streaming 0.3.2 (google-protobuf over node-nats 1.4) against Tern's STAN service
// (docs/STAN.md): connect, publishes acknowledged once stored, start positions, durables that
// resume after a close and after a kill -9, queue groups, manual acks with redelivery,
// maxInFlight, a vanished client closed by heartbeats, and nats-streaming-server's error texts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import stan from "node-nats-streaming";
import { startServer } from "./server.mjs";

function connect(server, clientID, cluster = "test-cluster") {
  return new Promise((resolve, reject) => {
    const sc = stan.connect(cluster, clientID, {
      url: `nats://${server.servers}`, connectTimeout: 3000, reconnect: false,
    });
    sc.once("connect", () => resolve(sc));
    sc.once("error", reject);
  });
}

function close(sc) {
  return new Promise((resolve) => {
    sc.once("close", resolve);
    sc.close();
  });
}

function publish(sc, channel, data) {
  return new Promise((resolve, reject) => {
    sc.publish(channel, data, (err, guid) => (err ? reject(err) : resolve(guid)));
  });
}

async function publishAll(sc, channel, first, last) {
  for (let i = first; i <= last; i++) await publish(sc, channel, `m${i}`);
}

// A subscription recording [sequence, data, redelivered] of what it gets; `ack(msg)` decides
// in manual-ack mode. waitFor(n) resolves once n messages came (rejects after 10 s).
function subscribe(sc, channel, opts, { group, ack } = {}) {
  const got = [];
  const waiters = [];
  const sub = group ? sc.subscribe(channel, group, opts) : sc.subscribe(channel, opts);
  sub.on("message", (msg) => {
    got.push([msg.getSequence(), msg.getData(), msg.isRedelivered()]);
    if (ack && ack(msg)) msg.ack();
    for (const w of waiters.splice(0)) w();
  });
  const ready = new Promise((resolve, reject) => {
    sub.once("ready", resolve);
    sub.once("error", reject);
  });
  async function waitFor(n) {
    const deadline = Date.now() + 10000;
    while (got.length < n && Date.now() < deadline) {
      await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
    }
    return got.slice();
  }
  const ended = (method, event) => new Promise((resolve) => {
    sub.once(event, resolve);
    sub[method]();
  });
  return {
    sub, got, ready, waitFor,
    close: () => ended("close", "closed"),
    unsubscribe: () => ended("unsubscribe", "unsubscribed"),
  };
}

const seqs = (got) => got.map(([seq]) => seq);

test("publish, start positions, durables, queue groups and errors", async () => {
  const server = await startServer("--streaming");
  try {
    const sc = await connect(server, "node-1");
    const guid = await publish(sc, "orders", "first");
    assert.ok(guid.length > 0);
    await publishAll(sc, "orders", 2, 5);

    const all = subscribe(sc, "orders", sc.subscriptionOptions().setDeliverAllAvailable());
    const fromThree = subscribe(sc, "orders", sc.subscriptionOptions().setStartAtSequence(3));
    const last = subscribe(sc, "orders", sc.subscriptionOptions().setStartWithLastReceived());
    const recent = subscribe(sc, "orders", sc.subscriptionOptions().setStartAtTimeDelta(60000));
    await Promise.all([all.ready, fromThree.ready, last.ready, recent.ready]);
    assert.deepEqual(seqs(await all.waitFor(5)), [1, 2, 3, 4, 5]);
    assert.equal((await all.waitFor(5))[0][1], "first");
    assert.deepEqual(seqs(await fromThree.waitFor(3)), [3, 4, 5]);
    assert.deepEqual(seqs(await last.waitFor(1)), [5]);
    assert.deepEqual(seqs(await recent.waitFor(5)), [1, 2, 3, 4, 5]);

    // A durable resumes after a close where it left off.
    const durableOpts = () =>
      sc.subscriptionOptions().setDurableName("ledger").setDeliverAllAvailable();
    const durable = subscribe(sc, "orders", durableOpts());
    await durable.ready;
    assert.equal((await durable.waitFor(5)).length, 5);
    await durable.close();
    await publishAll(sc, "orders", 6, 7);
    const resumed = subscribe(sc, "orders", durableOpts());
    await resumed.ready;
    assert.deepEqual(seqs(await resumed.waitFor(2)), [6, 7]);
    await resumed.unsubscribe();

    // A queue group shares the channel's messages between its members.
    const other = await connect(server, "node-2");
    const a = subscribe(sc, "jobs", sc.subscriptionOptions(), { group: "workers" });
    const b = subscribe(other, "jobs", other.subscriptionOptions(), { group: "workers" });
    await Promise.all([a.ready, b.ready]);
    await publishAll(sc, "jobs", 1, 20);
    const deadline = Date.now() + 10000;
    while (a.got.length + b.got.length < 20 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const shared = [...seqs(a.got), ...seqs(b.got)].sort((x, y) => x - y);
    assert.deepEqual(shared, Array.from({ length: 20 }, (_, i) => i + 1));

    // nats-streaming-server's errors: a bad channel, a client id in use.
    await assert.rejects(publish(sc, "orders.*", "x"), /stan: invalid publish request/);
    await assert.rejects(connect(server, "node-1"), /clientID already registered/);
    await close(other);
    await close(sc);
  } finally {
    await server.stop();
  }
});

test("manual acks, redelivery and maxInFlight", async () => {
  const server = await startServer("--streaming");
  try {
    const sc = await connect(server, "acker");
    await publishAll(sc, "tasks", 1, 3);
    // Message 2 is not acknowledged the first time: it comes again, marked redelivered.
    const opts = sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true)
      .setAckWait(1000);
    const inbox = subscribe(sc, "tasks", opts, {
      ack: (msg) => msg.getSequence() !== 2 || msg.isRedelivered(),
    });
    await inbox.ready;
    const got = await inbox.waitFor(4);
    assert.deepEqual(got[3].slice(0, 1), [2]);
    assert.equal(got[3][2], true);

    // At most 2 unacknowledged: a third never comes while they are held.
    const held = subscribe(sc, "tasks", sc.subscriptionOptions().setDeliverAllAvailable()
      .setManualAckMode(true).setMaxInFlight(2).setAckWait(30000), { ack: () => false });
    await held.ready;
    assert.equal((await held.waitFor(2)).length, 2);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(held.got.length, 2);
    await close(sc);
  } finally {
    await server.stop();
  }
});

test("durables and channel data outlive a kill -9", async () => {
  const store = mkdtempSync(join(tmpdir(), "tern-js-stan-"));
  let server = await startServer("--streaming", "-sd", store);
  try {
    let sc = await connect(server, "survivor");
    await publishAll(sc, "events", 1, 3);
    const opts = () => sc.subscriptionOptions().setDurableName("keeper").setDeliverAllAvailable();
    const before = subscribe(sc, "events", opts());
    await before.ready;
    assert.equal((await before.waitFor(3)).length, 3);
    await before.close();
    await publishAll(sc, "events", 4, 5);  // acknowledged: stored
    // A durable's position reaches the store within 100 ms of its acks (JetStream saves a
    // consumer's state at most ten times a second); a crash sooner may redeliver, which
    // at-least-once allows. Give it ten times that.
    await new Promise((r) => setTimeout(r, 1000));
    await close(sc);
    await server.kill9();
    await server.stop();
    server = await startServer("--streaming", "-sd", store);
    // The same client id again: its durable resumes after what it had acknowledged.
    sc = await connect(server, "survivor");
    const resumed = subscribe(sc, "events", opts());
    const all = subscribe(sc, "events", sc.subscriptionOptions().setDeliverAllAvailable());
    await Promise.all([resumed.ready, all.ready]);
    assert.deepEqual(seqs(await resumed.waitFor(2)), [4, 5]);
    assert.deepEqual(seqs(await all.waitFor(5)), [1, 2, 3, 4, 5]);
    await close(sc);
  } finally {
    await server.stop();
  }
});

test("a client that vanishes is closed by the server's heartbeats", async () => {
  const server = await startServer("--streaming", "-m", "-1", "-hbi", "200ms", "-hbt", "200ms",
                                    "-hbf", "2");
  const clients = async () =>
    (await (await fetch(`${server.monitoring}/streaming/clientsz`)).json()).total;
  try {
    const sc = await connect(server, "ghost");
    assert.equal(await clients(), 1);
    // Gone without a close request: its socket just ends.
    sc.on("error", () => {});
    sc.nc.on("error", () => {});
    sc.nc.stream.destroy();
    const deadline = Date.now() + 10000;
    while ((await clients()) !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await clients(), 0);
    // Its id is free again at once.
    const again = await connect(server, "ghost");
    await close(again);
  } finally {
    await server.stop();
  }
});
