/**
 * Runs the portable smoke checks of `smoke.ts` under `deno test`, one step per check.
 *
 * @module
 */

import { SMOKE_CHECKS } from "./smoke.ts";

Deno.test("portable smoke checks", async (t) => {
  for (const check of SMOKE_CHECKS) {
    await t.step(check.name, async () => await check.run());
  }
});
