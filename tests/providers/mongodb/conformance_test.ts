import { conformanceSuite } from "../conformance.ts";
import { openMongoNorthwind, startMongo } from "./helpers.ts";

const server = await startMongo();

// Gaps of the test server only (CongoDB); a real server (MONGODB_URI) must pass every case,
// except transactions on a standalone server.
const CONGO_GAPS = {
  "duplicate key is CONSTRAINT_UNIQUE": "CongoDB does not enforce unique indexes",
  "createMany is all or nothing": "CongoDB does not enforce unique indexes, so nothing fails",
  "delete by id": "follows from the duplicate CongoDB let in",
  "transaction rolls back": "CongoDB is a standalone server: no transactions",
};

conformanceSuite(
  server.congo ? "mongodb (CongoDB over the wire)" : "mongodb (MONGODB_URI)",
  async () => {
    const fixture = await openMongoNorthwind(server);
    return { namespace: fixture.namespace, close: fixture.close };
  },
  server.congo ? CONGO_GAPS : {},
);

Deno.test({
  name: "mongodb test server: stop",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => server.stop(),
});
