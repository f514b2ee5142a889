/**
 * One replica for replicas_test.ts: the production service itself (`startService` of
 * examples/production-ready/main.ts: the same config from the environment, namespaces, runtime,
 * HTTP listener and SIGTERM drain as `deno task start`), plus what an OData client cannot ask
 * for: OData has no increment and the endpoint serves no actions, so an atomic increment is
 * something the service's own code does. On SIGUSR1 this replica increments
 * `postgres_prod.users(<id>).loginCount` `<times>` times concurrently through its runtime (its
 * pool, breaker and deadlines), as application code in the service would, and prints one line
 * `increments {"done":<n>,"failed":[<codes>]}`.
 *
 *   deno run -A tests/examples/production/replica_service.ts <user id> <times>
 */
import { ODataActiveRecordError } from "../../../mod.ts";
import { startService } from "../../../examples/production-ready/main.ts";

const [userId, timesText] = Deno.args;
const times = Number(timesText);
if (userId === undefined || !Number.isInteger(times) || times < 1) {
  // deno-lint-ignore no-console
  console.error("usage: replica_service.ts <user id> <times>");
  Deno.exit(2);
}

let running: Awaited<ReturnType<typeof startService>>;
try {
  running = await startService(Deno.env.toObject(), { signals: true });
} catch (error) {
  // deno-lint-ignore no-console
  console.error(`❌ The service did not start:\n${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
}

const users = running.service.manager.getNamespace("postgres_prod").getEntity("users");

Deno.addSignalListener("SIGUSR1", async () => {
  const outcomes = await Promise.allSettled(
    Array.from({ length: times }, () => users.incrementById(userId, "loginCount", 1)),
  );
  const failed = outcomes.flatMap((outcome) =>
    outcome.status === "fulfilled"
      ? outcome.value === 1 ? [] : [`affected ${outcome.value} rows`]
      : [
        outcome.reason instanceof ODataActiveRecordError
          ? outcome.reason.code
          : String(outcome.reason),
      ]
  );
  // deno-lint-ignore no-console
  console.log(`increments ${JSON.stringify({ done: times - failed.length, failed })}`);
});
