// Starts a CongoDB server on 127.0.0.1 (a free port unless one is given) and prints
// "READY mongodb://127.0.0.1:PORT" once it accepts connections. Stops on SIGTERM/SIGINT or when
// its standard input closes, so that a test that dies never leaves it behind.
import net from "node:net";
import { CongoServer } from "@push.rocks/smartmongo/dist_ts/congodb/index.js";

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const port = Number(process.argv[2]) || await freePort();
const server = new CongoServer({ port, host: "127.0.0.1", storage: "memory" });
await server.start();
process.stdout.write(`READY mongodb://127.0.0.1:${port}\n`);
const stop = async () => {
  await server.stop().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
