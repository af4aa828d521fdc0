// A real browser: headless Chromium (Debian's `chromium`) loads browser/page.html, which
// uses nats.ws (its browser bundle) against tern-server's websocket port with compression
// on: pub/sub with a TCP client on the other side, request/reply with headers, a large
// deflated and fragmented message, KV. The page POSTs what it saw back to this test.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { connect as connectTcp, StringCodec } from "nats";
import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const natsWsBundle = join(here, "node_modules/nats.ws/esm/nats.js");
const sc = StringCodec();

function findChromium() {
  for (const name of ["chromium", "chromium-browser"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (found.status === 0) return found.stdout.trim();
  }
  return null;
}

let server, tcp, dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tern-browser-"));
  const config = join(dir, "ws.conf");
  writeFileSync(config, "websocket {\n  port: -1\n  no_tls: true\n  compression: true\n}\n");
  server = await startServer("-c", config);
  tcp = await connectTcp({ servers: server.servers });
});

after(async () => {
  await tcp?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("nats.ws in headless Chromium: pub/sub, request/reply, a deflated large message, KV", async (t) => {
  const chromium = findChromium();
  assert.ok(chromium, "chromium is installed (scripts/test.sh installs it)");
  const echo = tcp.subscribe("browser.echo");
  (async () => {
    for await (const m of echo) {
      const { headers } = await import("nats");
      const h = headers();
      h.set("X-Seen", m.headers?.get("X-From") ?? "none");
      m.respond(m.data, { headers: h });
    }
  })();
  await tcp.flush();

  let resolveResult;
  const result = new Promise((resolve) => (resolveResult = resolve));
  const http = createServer((req, res) => {
    const body = [];
    req.on("data", (chunk) => body.push(chunk));
    req.on("end", () => {
      if (req.url.startsWith("/page.html")) {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(readFileSync(join(here, "browser/page.html")));
      } else if (req.url === "/nats.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(readFileSync(natsWsBundle));
      } else if (req.url === "/publish") {
        tcp.publish("browser.in", sc.encode("from tcp"));
        tcp.flush().then(() => res.end("ok"));
      } else if (req.url === "/result") {
        res.end("ok");
        resolveResult(JSON.parse(Buffer.concat(body).toString()));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise((done) => http.listen(0, "127.0.0.1", done));
  const page = `http://127.0.0.1:${http.address().port}/page.html?ws=${encodeURIComponent(
    server.websocket,
  )}`;
  const browser = spawn(
    chromium,
    ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
     "--no-first-run", `--user-data-dir=${join(dir, "profile")}`, page],
    { stdio: "ignore" },
  );
  const exited = new Promise((done) => browser.once("exit", done));
  t.after(async () => {
    browser.kill("SIGKILL");
    await exited;
    http.close();
  });
  const timeout = new Promise((_, fail) =>
    setTimeout(() => fail(new Error("the page did not report within 60 s")), 60000).unref(),
  );
  const seen = await Promise.race([result, timeout, exited.then(() => {
    throw new Error("chromium exited before the page reported");
  })]);
  assert.deepEqual(seen, {
    connected: true,
    messages: ["from the page", "from tcp"],
    reply: "ping",
    reply_header: "browser",
    big_echo_ok: true,
    kv: "hello from chromium",
  });
});
