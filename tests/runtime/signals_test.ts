/**
 * Graceful shutdown with real processes and real signals: SIGTERM drains in-flight requests and
 * exits 0 with the final metrics logged; a failed cleanup exits 1; a second signal forces exit.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withDir } from "./helpers.ts";

const child = new URL("./fixtures/shutdown_child.ts", import.meta.url).pathname;

async function run(
  mode: string,
  dir: string,
  signals: { after: string; signal: Deno.Signal }[],
): Promise<{ code: number; lines: string[] }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", child, mode, dir],
    cwd: join(new URL("../../", import.meta.url).pathname),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const pending = [...signals];
  let buffer = "";
  const timeout = setTimeout(() => process.kill("SIGKILL"), 60000); // never hang the suite
  try {
    for await (const chunk of process.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        while (pending.length > 0 && line.startsWith(pending[0]!.after)) {
          process.kill(pending.shift()!.signal);
        }
      }
    }
    const status = await process.status;
    return { code: status.code, lines };
  } finally {
    clearTimeout(timeout);
  }
}

Deno.test("SIGTERM: in-flight requests finish, final metrics are logged, exit 0", async () => {
  await withDir(async (dir) => {
    const { code, lines } = await run("ok", dir, [{ after: "READY", signal: "SIGTERM" }]);
    assert.equal(code, 0, lines.join("\n"));
    const at = (text: string) => lines.findIndex((l) => l.startsWith(text));
    assert.ok(at("🛑 Received SIGTERM, shutting down gracefully...") > at("READY"));
    assert.ok(at("🛑 Shutting down: waiting for 3 in-flight request(s)") >= 0, lines.join("\n"));
    for (const i of [1, 2, 3]) {
      assert.ok(at(`request ${i} done`) > at("🛑 Received SIGTERM"), `request ${i}`);
      assert.ok(
        at(`request ${i} done`) < at("📊 Performance Metrics:"),
        `request ${i} before exit`,
      );
    }
    assert.ok(lines.includes("sqlite_prod.logs:"));
    assert.ok(at("✅ Shutdown complete") > at("📊 Performance Metrics:"));
  });
});

Deno.test("SIGINT works the same way; a failed cleanup exits 1", async () => {
  await withDir(async (dir) => {
    const { code, lines } = await run("fail", dir, [{ after: "READY", signal: "SIGINT" }]);
    assert.equal(code, 1, lines.join("\n"));
    assert.ok(lines.includes("🛑 Received SIGINT, shutting down gracefully..."));
    assert.ok(lines.includes("❌ Shutdown failed: cleanup failed on purpose"));
  });
});

Deno.test("a second signal forces the exit while draining hangs", async () => {
  await withDir(async (dir) => {
    const { code, lines } = await run("hang", dir, [
      { after: "READY", signal: "SIGTERM" },
      { after: "🛑 Shutting down", signal: "SIGTERM" },
    ]);
    assert.equal(code, 130, lines.join("\n"));
    assert.ok(lines.includes("⚠️ Second SIGTERM during shutdown: forcing exit"));
    assert.ok(!lines.some((l) => l.startsWith("✅ Shutdown complete")));
  });
});
