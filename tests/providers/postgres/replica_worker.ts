/**
 * One "replica" for replicas_test.ts: a separate Deno process using the library directly on a
 * shared PostgreSQL database. Reads a JSON task from argv, prints a JSON result on stdout.
 */
import { EntityNamespaceManager, ODataActiveRecordError } from "../../../mod.ts";

export const COUNTERS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string" },
    value: { type: "integer" },
    version: { type: "integer", version: true },
  },
} as const;

interface Task {
  url: string;
  action: "sync" | "create" | "read" | "increment" | "save";
  id?: number;
  name?: string;
  times?: number;
}

if (import.meta.main) {
  const task = JSON.parse(Deno.args[0]!) as Task;
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("replica", {
    provider: { type: "postgres", url: task.url, poolSize: 5 },
  });
  const Counters = ns.registerEntity("Counters", COUNTERS);
  let result: unknown;
  try {
    switch (task.action) {
      case "sync":
        result = await ns.sync();
        break;
      case "create":
        result = {
          ...(await Counters.create({ id: task.id, name: task.name, value: 0 })).toJSON(),
        };
        break;
      case "read": {
        const found = await Counters.findById(task.id!);
        result = found === undefined ? null : { ...found.toJSON() };
        break;
      }
      case "increment":
        await Promise.all(
          Array.from({ length: task.times! }, () => Counters.incrementById(task.id!, "value", 1)),
        );
        result = { done: task.times };
        break;
      case "save": {
        const outcomes = await Promise.allSettled(
          Array.from({ length: task.times! }, async () => {
            const record = await Counters.findByIdOrFail(task.id!);
            record.value = (record.value as number) + 1;
            await record.save();
          }),
        );
        const codes = outcomes.map((o) =>
          o.status === "fulfilled"
            ? "saved"
            : o.reason instanceof ODataActiveRecordError
            ? o.reason.code
            : String(o.reason)
        );
        result = { codes };
        break;
      }
    }
  } finally {
    await manager.close();
  }
  await new Promise<void>((resolve, reject) =>
    Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result))).then(
      () => resolve(),
      reject,
    )
  );
}
