// Starts a real tern-server for the nats.js tests: random port (read from its ports
// file), JetStream on a fresh store, plus TERN_TEST_ARGS (e.g. "--shards 4").
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// TERN_SERVER_UNDER_TEST (CI: a sanitizer build's server) wins over the build's own.
const binary =
  process.env.TERN_SERVER_UNDER_TEST ||
  (process.env.TERN_SERVER_PATH ?? resolve(here, "../../build/release/tools/tern-server"));

export async function startServer(...serverArgs) {
  const dir = mkdtempSync(join(tmpdir(), "tern-js-"));
  const extra = (process.env.TERN_TEST_ARGS ?? "").split(/\s+/).filter(Boolean);
  const args = ["-p", "-1", "--ports_file_dir", dir, "-l", join(dir, "server.log"),
                "-js", "-sd", join(dir, "store"), ...extra, ...serverArgs];
  const child = spawn(binary, args, { stdio: "inherit" });
  const portsFile = join(dir, `tern-server_${child.pid}.ports`);
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    try {
      const ports = JSON.parse(readFileSync(portsFile, "utf8"));
      const url = ports.nats[0];
      const port = Number(url.slice(url.lastIndexOf(":") + 1));
      return {
        port,
        servers: `127.0.0.1:${port}`,
        websocket: ports.websocket?.[0],  // ws://host:port, with a websocket {} block
        mqtt: ports.mqtt?.[0],  // mqtt://host:port, with an mqtt {} block or --mqtt_port
        monitoring: ports.monitoring?.[0],  // http://host:port, with -m
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            await new Promise((done) => child.once("exit", done));
          }
          rmSync(dir, { recursive: true, force: true });
        },
        // As a crash: no shutdown at all (the store keeps what was synced).
        async kill9() {
          child.kill("SIGKILL");
          await new Promise((done) => child.once("exit", done));
        },
      };
    } catch {
      await new Promise((done) => setTimeout(done, 20));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`tern-server did not start: ${binary}`);
}
