/**
 * The OData endpoint on PostgreSQL: a PATCH or DELETE with `If-Match` checks the ETag (the
 * version field) on a read, then writes. Under READ COMMITTED another replica's write can commit
 * between the two; the write must still require the checked version, so that it answers 412
 * instead of overwriting (or deleting) the other write. A `beforeWrite` hook, which runs between
 * the check and the write, commits such a write on another connection: deterministic.
 */
import assert from "node:assert/strict";
import { createODataHandler } from "../../../mod.ts";
import { pgTest, withDatabase } from "./helpers.ts";

const COUNTERS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    value: { type: "integer" },
    version: { type: "integer", version: true },
  },
} as const;

const URL_OF = "http://localhost/odata/Counters(1)";

function patch(etag: string, value: number): Request {
  return new Request(URL_OF, {
    method: "PATCH",
    headers: { "content-type": "application/json", "if-match": etag },
    body: JSON.stringify({ value }),
  });
}

pgTest(
  "If-Match writes: a write committed between the check and the write gives 412, not a lost update",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace();
      const Counters = ns.registerEntity("Counters", COUNTERS);
      await ns.sync();
      await Counters.create({ id: 1, value: 0 });
      let interleave = false;
      const handler = createODataHandler(ns, {
        basePath: "/odata/",
        hooks: {
          Counters: {
            // Another replica's write, committed after the ETag check and before this write.
            beforeWrite: async () => {
              if (!interleave) return;
              interleave = false;
              await raw`UPDATE "Counters" SET value = value + 10, version = version + 1 WHERE id = 1`;
            },
          },
        },
      });
      // Read back with the raw driver, independently of the library.
      const stored = async () => {
        const [row] = await raw`SELECT value, version FROM "Counters" WHERE id = 1`;
        return { value: Number(row!.value), version: Number(row!.version) };
      };
      const etagNow = async () => (await handler(new Request(URL_OF))).headers.get("etag")!;

      const stale = await etagNow();
      assert.equal(stale, 'W/"1"');
      interleave = true;
      const lost = await handler(patch(stale, 1));
      assert.equal(lost.status, 412, await lost.text());
      assert.equal(interleave, false, "the hook ran");
      assert.deepEqual(await stored(), { value: 10, version: 2 });

      // With the current ETag the same PATCH writes, one version further.
      const written = await handler(patch(await etagNow(), 11));
      assert.equal(written.status, 204, await written.text());
      assert.equal(written.headers.get("etag"), 'W/"3"');
      assert.deepEqual(await stored(), { value: 11, version: 3 });

      // A DELETE checked against a version that changes meanwhile keeps the row.
      interleave = true;
      const removed = await handler(
        new Request(URL_OF, { method: "DELETE", headers: { "if-match": await etagNow() } }),
      );
      assert.equal(removed.status, 412, await removed.text());
      assert.deepEqual(await stored(), { value: 21, version: 4 });

      // If-Match: * asks for any current version: not pinned, the write goes through.
      interleave = true;
      const any = await handler(patch("*", 99));
      assert.equal(any.status, 204, await any.text());
      assert.deepEqual(await stored(), { value: 99, version: 6 });
    }),
);
