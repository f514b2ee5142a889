/** The performance monitor: per-entity metrics, the design's report block, Prometheus text. */
import assert from "node:assert/strict";
import { ConnectionPool, formatPoolStats, PerformanceMonitor } from "../../mod.ts";
import { eventually, isCode, withLogs } from "./helpers.ts";

Deno.test("per namespace.entity and overall metrics", () => {
  const monitor = new PerformanceMonitor();
  for (let i = 1; i <= 100; i++) monitor.record("mongodb_prod", "users", i, i % 10 !== 0);
  monitor.record("sqlite_prod", "logs", 4, true);
  const { entities, overall } = monitor.snapshot();
  const users = entities["mongodb_prod.users"]!;
  assert.equal(users.queries, 100);
  assert.equal(users.errors, 10);
  assert.equal(users.errorRate, 0.1);
  assert.equal(users.avgMs, 50.5);
  assert.ok(Math.abs(users.p50 - 50) / 50 < 0.01);
  assert.ok(Math.abs(users.p95 - 95) / 95 < 0.01);
  assert.ok(Math.abs(users.p99 - 99) / 99 < 0.01);
  assert.equal(users.maxMs, 100);
  assert.equal(overall.queries, 101);
  assert.equal(overall.errors, 10);
});

Deno.test("recorder(): one series per namespace.entity, the same one record() feeds", () => {
  const monitor = new PerformanceMonitor();
  const logs = monitor.recorder("sqlite_prod", "logs");
  assert.equal(monitor.recorder("sqlite_prod", "logs"), logs, "kept, not made again");
  logs.record(2, true);
  logs.record(6, false);
  monitor.record("sqlite_prod", "logs", 4, true);
  const metrics = monitor.snapshot().entities["sqlite_prod.logs"]!;
  assert.equal(metrics.queries, 3);
  assert.equal(metrics.errors, 1);
  assert.equal(metrics.avgMs, 4);
  assert.equal(metrics.maxMs, 6);
  assert.deepEqual(Object.keys(monitor.snapshot().entities), ["sqlite_prod.logs"]);
});

Deno.test("the design's 📊 Performance Metrics block", () => {
  const monitor = new PerformanceMonitor();
  monitor.record("mongodb_prod", "users", 40, true);
  monitor.record("mongodb_prod", "users", 50.46, true);
  const report = monitor.formatReport().split("\n");
  assert.deepEqual(report.slice(0, 6), [
    "📊 Performance Metrics:",
    "========================",
    "mongodb_prod.users:",
    "  Queries: 2",
    "  Avg Time: 45.23ms",
    "  Error Rate: 0.00%",
  ]);
  assert.match(report[6]!, /^ {2}P50: 40\.\d\dms {2}P95: 50\.\d\dms {2}P99: 50\.\d\dms$/);
  assert.deepEqual(report.slice(8, 10), ["Overall Response Times:", "  Average: 45.23ms"]);
  assert.equal(report.at(-1), "========================");
  assert.match(new PerformanceMonitor().formatReport(), /Average: n\/a/);
});

Deno.test("Prometheus exposition: counters, summary quantiles in seconds, escaped labels", async () => {
  const monitor = new PerformanceMonitor({ metricPrefix: "oar" });
  monitor.record('we"ird\\ns', "e\nx", 1500, false);
  const pool = new ConnectionPool({ healthCheckInterval: 0 });
  try {
    await pool.getConnection("mem", { type: "sqlite", filePath: ":memory:" });
    const text = monitor.toPrometheus({ pool: pool.getConnectionStats() });
    const labels = 'namespace="we\\"ird\\\\ns",entity="e\\nx"';
    assert.ok(text.includes(`# TYPE oar_queries_total counter\noar_queries_total{${labels}} 1\n`));
    assert.ok(text.includes(`oar_query_errors_total{${labels}} 1\n`));
    assert.ok(text.includes("# TYPE oar_query_duration_seconds summary\n"));
    assert.match(text, /oar_query_duration_seconds\{[^}]*,quantile="0\.99"\} 1\.5\n/);
    assert.ok(text.includes(`oar_query_duration_seconds_count{${labels}} 1\n`));
    assert.ok(text.includes(`oar_query_duration_seconds_sum{${labels}} 1.5\n`));
    assert.ok(text.includes("oar_pool_connections 1\n"));
    assert.ok(text.includes("oar_pool_connections_healthy 1\n"));
    assert.ok(text.includes('oar_connection_up{connection="mem",type="sqlite"} 1\n'));
    assert.ok(text.endsWith("\n"));
    for (const line of text.trimEnd().split("\n")) {
      assert.match(
        line,
        /^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? [-+\d.eE]+|[\w]+(\{.*\})? (NaN|\+Inf))$/,
        line,
      );
    }
    assert.match(
      formatPoolStats(pool.getConnectionStats()),
      /^🔌 Connection Pool Statistics:\n=+\nTotal Connections: 1\nHealthy Connections: 1\nTotal Retries: 0\nMax Retries: 3\nRetry Delay: 1000ms\nHealth Check Interval: 0ms\n/,
    );
  } finally {
    await pool.closeAll();
  }
});

Deno.test("periodic report logging on a timer that stops cleanly", async () => {
  await withLogs(async (lines) => {
    const monitor = new PerformanceMonitor();
    monitor.record("a", "b", 1, true);
    monitor.startLogging(5);
    try {
      await eventually(
        () => lines.some((l) => l.startsWith("📊 Performance Metrics:")),
        "a report",
      );
    } finally {
      monitor.stopLogging();
    }
    assert.throws(() => monitor.startLogging(-1), isCode("INVALID_ARGUMENT"));
    monitor.startLogging(0); // off
  });
});
