/**
 * Runs the PostgreSQL checks of `postgres_smoke.ts` under `deno test`, on the tests' server
 * (tests/providers/postgres/server.ts: POSTGRES_URL, 127.0.0.1:5432 or a private one).
 *
 * @module
 */

import assert from "node:assert/strict";
import { available, findServer } from "../providers/postgres/server.ts";
import { runPostgresSmoke } from "./postgres_smoke.ts";

Deno.test({
  name: "portable PostgreSQL smoke checks (own database, dropped at the end)",
  ignore: !available,
  async fn() {
    const server = await findServer();
    const { passed, failures } = await runPostgresSmoke(server!.adminUrl);
    assert.deepEqual(failures, []);
    assert.ok(passed > 0);
  },
});
