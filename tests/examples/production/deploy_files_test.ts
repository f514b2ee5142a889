/**
 * No Docker engine or Kubernetes runs here, so the Dockerfile and the manifests are checked
 * against the code: every variable they set is one the config loader reads (and accepts with the
 * values they give), the probe paths answer in the service, the ports agree, the YAML parses.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { CONFIG_VARIABLES, loadConfigFromEnv } from "../../../mod.ts";
import { type HealthReport, ServiceApp } from "../../../examples/production-ready/app.ts";

const root = new URL("../../../", import.meta.url);
const exampleDir = new URL("examples/production-ready/", root);

// deno-lint-ignore no-explicit-any
type Doc = any;

async function manifests(): Promise<Doc[]> {
  const docs: Doc[] = [];
  for await (const entry of Deno.readDir(new URL("k8s/", exampleDir))) {
    if (!entry.isFile || !/\.ya?ml$/.test(entry.name)) continue;
    const text = await Deno.readTextFile(new URL(`k8s/${entry.name}`, exampleDir));
    for (const document of parseAllDocuments(text)) {
      assert.deepEqual(document.errors, [], `${entry.name} parses`);
      docs.push(document.toJS());
    }
  }
  return docs;
}

function byKind(docs: Doc[], kind: string): Doc {
  const found = docs.filter((doc) => doc?.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0];
}

/** The Dockerfile's instructions with line continuations joined. */
async function dockerfile(): Promise<{ instruction: string; args: string }[]> {
  const text = await Deno.readTextFile(new URL("Dockerfile", exampleDir));
  return text.replace(/\\\n/g, " ").split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const space = line.indexOf(" ");
      return {
        instruction: line.slice(0, space).toUpperCase(),
        args: line.slice(space + 1).trim(),
      };
    });
}

function dockerEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of args.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) {
    env[match[1]!] = match[2]!.replace(/^"|"$/g, "");
  }
  return env;
}

/** The status the service's HTTP surface gives `path` once ready and healthy. */
async function statusOf(path: string): Promise<number> {
  const report: HealthReport = {
    status: "healthy",
    timestamp: "",
    connections: { total: 1, healthy: 1 },
    namespaces: {},
    uptime: 0,
    circuits: {},
  };
  const app = new ServiceApp({
    health: () => Promise.resolve(report),
    metrics: () => "",
    namespaces: () => [],
    odata: () => undefined,
  });
  app.markReady();
  return (await app.handle(new Request(`http://127.0.0.1${path}`))).status;
}

Deno.test("Dockerfile: official Deno image, cached deps, non-root, EXPOSE 3000, HEALTHCHECK on a live path", async () => {
  const lines = await dockerfile();
  const from = lines.find((line) => line.instruction === "FROM")!;
  assert.match(from.args, /^denoland\/deno:\d+\.\d+\.\d+$/);
  const env = Object.assign(
    {},
    ...lines.filter((l) => l.instruction === "ENV").map((l) => dockerEnv(l.args)),
  );
  for (const name of Object.keys(env)) {
    assert.ok(
      CONFIG_VARIABLES.includes(name),
      `Dockerfile sets ${name}, which the config loader does not read`,
    );
  }
  const config = loadConfigFromEnv(env); // the values it sets are accepted
  const expose = lines.find((line) => line.instruction === "EXPOSE")!;
  assert.equal(Number(expose.args), config.port);
  assert.equal(config.port, 3000);
  const user = lines.find((line) => line.instruction === "USER")!;
  assert.notEqual(user.args, "root");
  const cache = lines.find((line) =>
    line.instruction === "RUN" && /deno (cache|install)/.test(line.args)
  );
  assert.ok(cache, "dependencies are cached at build");
  const userIndex = lines.indexOf(user);
  assert.ok(lines.indexOf(cache) < userIndex, "cached as root before switching user");
  const health = lines.find((line) => line.instruction === "HEALTHCHECK")!;
  const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[^'"\s]*)/.exec(health.args);
  assert.ok(url, health.args);
  assert.equal(Number(url[1]), config.port);
  assert.equal(await statusOf(url[2]!), 200);
  // Every COPY source exists; the command runs the service with the task's permissions.
  for (const copy of lines.filter((line) => line.instruction === "COPY")) {
    for (const source of copy.args.split(/\s+/).slice(0, -1)) {
      await Deno.stat(new URL(source, root));
    }
  }
  const cmd = JSON.parse(lines.find((line) => line.instruction === "CMD")!.args) as string[];
  assert.ok(cmd.includes("examples/production-ready/main.ts"));
  const task = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks
    .start as string;
  for (const flag of task.split(" ").filter((part) => part.startsWith("--allow"))) {
    assert.ok(cmd.includes(flag), `CMD lacks ${flag} that deno task start gives`);
  }
});

Deno.test("Kubernetes manifests agree with the service and the config loader", async () => {
  const docs = await manifests();
  const configMap = byKind(docs, "ConfigMap");
  const secret = byKind(docs, "Secret");
  const deployment = byKind(docs, "Deployment");
  const service = byKind(docs, "Service");

  const data = configMap.data as Record<string, string>;
  for (const name of Object.keys(data)) {
    assert.ok(
      CONFIG_VARIABLES.includes(name),
      `ConfigMap sets ${name}, which the loader does not read`,
    );
  }
  const config = loadConfigFromEnv(data);

  assert.equal(deployment.spec.replicas, 3);
  assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  const pod = deployment.spec.template.spec;
  assert.equal(pod.containers.length, 1);
  const container = pod.containers[0];
  const ports = container.ports as { name?: string; containerPort: number }[];
  const portOf = (port: number | string) =>
    typeof port === "number" ? port : ports.find((p) => p.name === port)?.containerPort;
  assert.deepEqual(ports.map((p) => p.containerPort), [config.port]);

  assert.equal(container.envFrom[0].configMapRef.name, configMap.metadata.name);
  for (const variable of container.env ?? []) {
    assert.ok(CONFIG_VARIABLES.includes(variable.name), `env ${variable.name} is not read`);
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref !== undefined) {
      assert.equal(ref.name, secret.metadata.name);
      assert.ok(ref.key in (secret.stringData ?? secret.data), `Secret has ${ref.key}`);
    }
  }
  const mongo = (container.env ?? []).find((v: Doc) => v.name === "MONGODB_URI");
  assert.ok(mongo?.valueFrom?.secretKeyRef, "MONGODB_URI comes from a Secret");
  assert.ok(!("MONGODB_URI" in data), "MONGODB_URI is not in the ConfigMap");

  assert.equal(container.livenessProbe.httpGet.path, "/health/live");
  assert.equal(container.readinessProbe.httpGet.path, "/health/ready");
  for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
    if (probe === undefined) continue;
    assert.equal(portOf(probe.httpGet.port), config.port);
    assert.equal(await statusOf(probe.httpGet.path), 200, probe.httpGet.path);
  }
  const preStopSeconds = Number(container.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0);
  assert.ok(
    pod.terminationGracePeriodSeconds * 1000 > config.shutdownTimeout + preStopSeconds * 1000,
    "terminationGracePeriodSeconds exceeds the preStop pause plus the drain deadline",
  );
  for (const kind of ["requests", "limits"]) {
    assert.ok(
      container.resources[kind].cpu && container.resources[kind].memory,
      `resources.${kind}`,
    );
  }
  const mount = container.volumeMounts.find((m: Doc) =>
    config.northwindPath.startsWith(m.mountPath)
  );
  assert.ok(mount, "the SQLite files are on a mounted volume");
  assert.ok(config.sqlitePath.startsWith(mount.mountPath));

  assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
  const budget = byKind(docs, "PodDisruptionBudget");
  assert.deepEqual(budget.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  assert.ok(budget.spec.minAvailable < deployment.spec.replicas, "a rolling drain can proceed");
  for (const port of service.spec.ports) assert.equal(portOf(port.targetPort), config.port);
});
