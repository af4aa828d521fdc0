// nats.js 2.29 against Tern's TLS-first handshake (tls { handshake_first: true }): the
// client starts TLS before the server says anything and gets INFO encrypted. Certificates
// are made at test time with the openssl command. libnats 3.4 and nats.go 1.22 have no
// TLS-first option; nats.js does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const sc = StringCodec();

function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), "tern-js-tls-"));
  const ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  execSync(
    `openssl req -x509 ${ec} -days 2 -subj '/CN=Tern Test CA' -keyout ca.key -out ca.pem` +
      ` && openssl req ${ec} -subj '/CN=localhost' -keyout server.key -out server.csr` +
      ` && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext` +
      ` && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2` +
      ` -extfile san.ext -out server.pem`,
    { cwd: dir, stdio: "ignore" });
  return dir;
}

test("TLS first: the handshake before INFO", async () => {
  const dir = makeCertificates();
  const conf = join(dir, "tls.conf");
  writeFileSync(conf, `tls {
  cert_file: "${join(dir, "server.pem")}"
  key_file: "${join(dir, "server.key")}"
  handshake_first: true
  timeout: 1
}
`);
  const server = await startServer("-c", conf);
  try {
    const nc = await connect({
      servers: server.servers,
      tls: { handshakeFirst: true, caFile: join(dir, "ca.pem") },
    });
    const sub = nc.subscribe("secure.>", { max: 1 });
    nc.publish("secure.hello", sc.encode("over TLS first"));
    for await (const m of sub) assert.equal(sc.decode(m.data), "over TLS first");
    assert.equal(nc.info.tls_required, true);
    await nc.close();

    // A client waiting for INFO in clear hears nothing and is closed at the TLS timeout.
    await assert.rejects(
      connect({ servers: server.servers, tls: { caFile: join(dir, "ca.pem") },
                reconnect: false, timeout: 3000 }));
  } finally {
    await server.stop();
  }
});
