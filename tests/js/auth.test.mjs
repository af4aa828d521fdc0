// nats.js 2.29 against Tern's authentication: user/password and token logins, the error a
// refused login gets, and a permission violation reported without losing the connection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const sc = StringCodec();

test("users, wrong passwords and permission violations", async () => {
  const conf = join(mkdtempSync(join(tmpdir(), "tern-js-conf-")), "auth.conf");
  writeFileSync(conf, `authorization {
  users: [
    { user: alice, password: pw, permissions: { publish: "orders.>", subscribe: ">" } }
  ]
}
`);
  const server = await startServer("-c", conf);
  try {
    await assert.rejects(
      connect({ servers: server.servers, user: "alice", pass: "nope", reconnect: false }),
      (err) => err.code === "AUTHORIZATION_VIOLATION");
    const nc = await connect({ servers: server.servers, user: "alice", pass: "pw" });
    const errors = [];
    (async () => {
      for await (const s of nc.status()) if (s.type === "error") errors.push(s.data);
    })();
    const sub = nc.subscribe("orders.>", { max: 1 });
    await nc.flush();
    nc.publish("payments.new", sc.encode("no"));
    nc.publish("orders.new", sc.encode("yes"));
    for await (const m of sub) assert.equal(sc.decode(m.data), "yes");
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    // nats.js reports the server's -ERR as its permissions-violation code.
    assert.ok(errors.includes("PERMISSIONS_VIOLATION"), JSON.stringify(errors));
    assert.equal(nc.isClosed(), false);
    await nc.close();
  } finally {
    await server.stop();
  }
});

test("token", async () => {
  const server = await startServer("--auth", "s3cr3t");
  try {
    const nc = await connect({ servers: server.servers, token: "s3cr3t" });
    await nc.close();
    await assert.rejects(connect({ servers: server.servers, token: "guess", reconnect: false }));
  } finally {
    await server.stop();
  }
});
