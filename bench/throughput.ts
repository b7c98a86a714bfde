import { type AttributeValue, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { callForJob } from "../cli/mcp-client.js";
import { closeClients, connectClients } from "./mcp-client.js";
import { runPool, sleep } from "./pool.js";
import type { BenchProfile } from "./profile.js";
import type { BenchStack } from "./stack.js";
import { ratio, rounded, type Summary, summarize } from "./stats.js";

export interface ThroughputResult {
  readonly jobs: number;
  readonly jobSeconds: number;
  readonly workerConcurrency: number;
  readonly pollers: number;
  readonly batchSize: number;
  readonly startLanes: number;
  /** (jobs / C) × job seconds: perfect packing, no overhead. */
  readonly idealMs: number;
  /** From just before the first start call to the last finishedAt in the table. */
  readonly wallMs: number;
  /** Wall over ideal: 1 is perfect. */
  readonly wallOverIdeal: number;
  readonly jobsPerSecond: number;
  /** Σ run time / (last finish − first run start): how many jobs ran at once on average. */
  readonly meanRunning: number;
  readonly peakRunning: number;
  /** How long it took the start lanes to hand out every job. */
  readonly startPhaseMs: number;
  /** CPU this node process used in the phase: handlers, pollers, fauxqs, clients (not DynamoDB Local). */
  readonly nodeCpuSeconds: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly completed: number;
  /** Jobs that did not complete before the bounded wait ran out. */
  readonly lost: number;
  /** Jobs that needed more than one run. */
  readonly retried: number;
  /** createdAt → startedAt: time in the queue. */
  readonly queueWaitMs: Summary;
  /** startedAt → finishedAt: the 2 s call plus the worker's own writes. */
  readonly runMs: Summary;
  readonly queueDepthAfter: number;
  readonly deadLettersAfter: number;
  readonly timedOut: boolean;
}

interface RowTimes {
  readonly status: string;
  readonly attempt: number;
  readonly createdAt?: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
}

const SCAN_EVERY_MS = 2_000;
const QUEUE_SETTLE_TRIES = 20;
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * `jobs` jobs of `jobSeconds` each, started through MCP by `startLanes` clients at once, run by a
 * worker of concurrency C = poller loops × batch size (the records of a batch run in parallel, as
 * the Lambda handler runs them). The table is scanned until every job has ended or the wait ends.
 */
export async function measureThroughput(stack: BenchStack, profile: BenchProfile): Promise<ThroughputResult> {
  const concurrency = profile.throughputPollers * profile.throughputBatchSize;
  const idealMs = (profile.throughputJobs / concurrency) * profile.throughputJobSeconds * 1000;
  const clients = await connectClients(stack.mcpUrl, profile.throughputStartLanes);
  const cpuBefore = process.cpuUsage();
  const firstStart = Date.now();
  let jobIds: string[];
  try {
    jobIds = await runPool(profile.throughputJobs, clients.length, async (index, lane) => {
      const client = clients[lane];
      if (client === undefined) throw new Error(`No client for lane ${lane}`);
      const job = await callForJob(client, "start_slow_api", {
        query: `throughput job ${index}`,
        delaySeconds: profile.throughputJobSeconds,
      });
      return job.jobId;
    });
  } finally {
    await closeClients(clients);
  }
  const startPhaseMs = Date.now() - firstStart;

  const deadline = firstStart + Math.max(4 * idealMs, 60_000) + startPhaseMs;
  const wanted = new Set(jobIds);
  let rows = new Map<string, RowTimes>();
  let timedOut = false;
  for (;;) {
    rows = await scanJobs(stack, wanted);
    const ended = [...rows.values()].filter((row) => TERMINAL.has(row.status)).length;
    if (ended === wanted.size) break;
    if (Date.now() + SCAN_EVERY_MS > deadline) {
      timedOut = true;
      break;
    }
    await sleep(SCAN_EVERY_MS);
  }

  const cpu = process.cpuUsage(cpuBefore);
  const all = [...rows.values()];
  const statuses: Record<string, number> = {};
  for (const row of all) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
  const missing = wanted.size - all.length;
  if (missing > 0) statuses.missing = missing;
  const completed = statuses.completed ?? 0;
  const lastFinish = Math.max(...all.map((row) => row.finishedAt ?? 0));
  const wallMs = lastFinish - firstStart;
  const between = (from: keyof RowTimes, to: keyof RowTimes): number[] =>
    all.flatMap((row) => {
      const a = row[from];
      const b = row[to];
      return typeof a === "number" && typeof b === "number" ? [b - a] : [];
    });

  return {
    jobs: profile.throughputJobs,
    jobSeconds: profile.throughputJobSeconds,
    workerConcurrency: concurrency,
    pollers: profile.throughputPollers,
    batchSize: profile.throughputBatchSize,
    startLanes: profile.throughputStartLanes,
    idealMs,
    wallMs,
    wallOverIdeal: ratio(wallMs, idealMs),
    jobsPerSecond: Number(((completed / wallMs) * 1000).toFixed(1)),
    startPhaseMs,
    nodeCpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
    ...runningAtOnce(all),
    statuses,
    completed,
    lost: profile.throughputJobs - completed,
    retried: all.filter((row) => row.attempt > 1).length,
    queueWaitMs: rounded(summarize(between("createdAt", "startedAt")), 0),
    runMs: rounded(summarize(between("startedAt", "finishedAt")), 0),
    queueDepthAfter: await settledQueueDepth(stack, stack.resources.queueUrl),
    deadLettersAfter: await settledQueueDepth(stack, stack.resources.deadLetterQueueUrl),
    timedOut,
  };
}

function runningAtOnce(rows: readonly RowTimes[]): { meanRunning: number; peakRunning: number } {
  const runs = rows.flatMap((row) =>
    row.startedAt !== undefined && row.finishedAt !== undefined
      ? [[row.startedAt, row.finishedAt] as const]
      : [],
  );
  if (runs.length === 0) return { meanRunning: 0, peakRunning: 0 };
  const busyMs = runs.reduce((sum, [from, to]) => sum + (to - from), 0);
  const spanMs = Math.max(...runs.map(([, to]) => to)) - Math.min(...runs.map(([from]) => from));
  // A sweep over starts (+1) and ends (−1); at equal times the end comes first.
  const events = runs.flatMap(([from, to]) => [
    [from, 1],
    [to, -1],
  ]) as Array<[number, number]>;
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peakRunning = 0;
  for (const [, step] of events) {
    running += step;
    peakRunning = Math.max(peakRunning, running);
  }
  return { meanRunning: Number((busyMs / spanMs).toFixed(1)), peakRunning };
}

async function scanJobs(stack: BenchStack, wanted: ReadonlySet<string>): Promise<Map<string, RowTimes>> {
  const rows = new Map<string, RowTimes>();
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await stack.clients.dynamo.send(
      new ScanCommand({
        TableName: stack.resources.tableName,
        ProjectionExpression: "#id, #status, #attempt, createdAt, startedAt, finishedAt",
        ExpressionAttributeNames: { "#id": "id", "#status": "status", "#attempt": "attempt" },
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const id = item.id?.S;
      if (id === undefined || !wanted.has(id)) continue;
      rows.set(id, {
        status: item.status?.S ?? "unknown",
        attempt: Number(item.attempt?.N ?? "0"),
        ...time("createdAt", item.createdAt),
        ...time("startedAt", item.startedAt),
        ...time("finishedAt", item.finishedAt),
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return rows;
}

function time<K extends string>(key: K, value: AttributeValue | undefined): { [P in K]?: number } {
  return (value?.S === undefined ? {} : { [key]: Date.parse(value.S) }) as { [P in K]?: number };
}

/** The last batch's messages are deleted once its slowest record ends: give that a moment. */
async function settledQueueDepth(stack: BenchStack, queueUrl: string): Promise<number> {
  let depth = await queueDepth(stack, queueUrl);
  for (let tries = 0; depth > 0 && tries < QUEUE_SETTLE_TRIES; tries++) {
    await sleep(250);
    depth = await queueDepth(stack, queueUrl);
  }
  return depth;
}

async function queueDepth(stack: BenchStack, queueUrl: string): Promise<number> {
  const { Attributes } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
