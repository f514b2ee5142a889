/**
 * PostgreSQL for the tests. Each run works in its own database, created here and dropped at the
 * end, on the first server that can be had:
 * 1. `POSTGRES_URL` (any database on that server is used only to create ours);
 * 2. the machine's server at 127.0.0.1:5432 (user postgres);
 * 3. a private server started with `initdb` + `pg_ctl` on a free port in a temporary folder.
 * When none can be had the PostgreSQL tests are ignored with one line saying how to enable them.
 *
 * Fault tests always use a private server ({@linkcode startPrivateServer}), never the others.
 */
import postgres from "postgres";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A server the tests can use. */
export interface PgServer {
  /** URL of the server's `postgres` database (admin connection). */
  readonly adminUrl: string;
  /** Where it comes from. */
  readonly origin: "POSTGRES_URL" | "localhost" | "private";
}

/** Whether `url` answers within 3 s. */
async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql.unsafe("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** A free TCP port on 127.0.0.1 (listen on port 0, then close). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function runCommand(cmd: string, args: string[], asUser: boolean): Promise<boolean> {
  const root = Deno.uid() === 0;
  const [program, list] = asUser && root
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
  try {
    const output = await new Deno.Command(program, { args: list, stdout: "null", stderr: "piped" })
      .output();
    return output.success;
  } catch {
    return false;
  }
}

/** A private PostgreSQL server in a temporary folder; stop() and start() it at will. */
export class PrivateServer {
  readonly dir: string;
  readonly port: number;
  readonly adminUrl: string;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    this.adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /** Creates the cluster (initdb) and starts it; `undefined` when the programs are missing. */
  static async create(): Promise<PrivateServer | undefined> {
    const dir = await mkdtemp(join(tmpdir(), "oar-pg-"));
    if (Deno.uid() === 0) {
      // initdb refuses to run as root: the cluster belongs to the postgres user.
      const chown = await new Deno.Command("chown", { args: ["postgres", dir] }).output()
        .catch(() => undefined);
      if (!chown?.success) {
        await rm(dir, { recursive: true, force: true });
        return undefined;
      }
    }
    const ok = await runCommand("initdb", [
      "-D",
      join(dir, "data"),
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-sync",
    ], true);
    if (!ok) {
      await rm(dir, { recursive: true, force: true });
      return undefined;
    }
    const server = new PrivateServer(dir, freePort());
    if (!(await server.start())) {
      await server.destroy();
      return undefined;
    }
    return server;
  }

  /** Starts the server and waits until it accepts connections. */
  start(): Promise<boolean> {
    return runCommand("pg_ctl", [
      "-D",
      join(this.dir, "data"),
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-l",
      join(this.dir, "log"),
      "-w",
      "-t",
      "60",
      "start",
    ], true);
  }

  /** Stops it at once, as a crash would (`-m immediate`: connections are cut). */
  stop(): Promise<boolean> {
    return runCommand(
      "pg_ctl",
      ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"],
      true,
    );
  }

  /** Stops it and removes its folder. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

let found: Promise<PgServer | undefined> | undefined;
let privateServer: PrivateServer | undefined;

/** The server of this run (found once). */
export function findServer(): Promise<PgServer | undefined> {
  found ??= (async () => {
    const env = Deno.env.get("POSTGRES_URL");
    if (env !== undefined && env !== "" && await answers(env)) {
      return { adminUrl: env, origin: "POSTGRES_URL" as const };
    }
    const local = "postgres://postgres@127.0.0.1:5432/postgres";
    if (await answers(local)) return { adminUrl: local, origin: "localhost" as const };
    privateServer = await PrivateServer.create();
    if (privateServer !== undefined) {
      // Stopped when the process exits (the tests' unload).
      globalThis.addEventListener("unload", () => {
        const data = join(privateServer!.dir, "data");
        const args = ["-D", data, "-m", "immediate", "stop"];
        const root = Deno.uid() === 0;
        new Deno.Command(root ? "runuser" : "pg_ctl", {
          args: root ? ["-u", "postgres", "--", "pg_ctl", ...args] : args,
          stdout: "null",
          stderr: "null",
        }).outputSync();
        Deno.removeSync(privateServer!.dir, { recursive: true });
      });
      return { adminUrl: privateServer.adminUrl, origin: "private" as const };
    }
    return undefined;
  })();
  return found;
}

/** The one line printed when PostgreSQL tests are ignored. */
export const HOW_TO_ENABLE =
  "PostgreSQL tests ignored: no server. Set POSTGRES_URL=postgres://user@host:5432/postgres, " +
  "run one on 127.0.0.1:5432, or install initdb and pg_ctl.";

/** Whether a server can be had; prints {@linkcode HOW_TO_ENABLE} once when not. */
export const available: boolean = await (async () => {
  const server = await findServer();
  if (server === undefined && Deno.env.get("OAR_REQUIRE_POSTGRES") === "1") {
    throw new Error(`OAR_REQUIRE_POSTGRES=1 but ${HOW_TO_ENABLE}`);
  }
  // deno-lint-ignore no-console
  if (server === undefined) console.log(HOW_TO_ENABLE);
  return server !== undefined;
})();

let counter = 0;

/** A fresh database on the run's server: its URL and a function that drops it. */
export async function createDatabase(
  server?: { readonly adminUrl: string },
): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = server ?? await findServer();
  if (base === undefined) throw new Error(HOW_TO_ENABLE);
  const name = `oar_test_${Deno.pid}_${Date.now().toString(36)}_${++counter}`;
  const admin = postgres(base.adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = new URL(base.adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const admin = postgres(base.adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end({ timeout: 1 });
      }
    },
  };
}
