import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { WORKER_BATCH_SIZE, WORKER_MAX_CONCURRENCY } from "../lambdas/shared/config/functions.js";
import { type Emulators, startEmulators } from "../local/emulators.js";
import type { WorkerInvocation } from "../local/local-stack.js";
import { startBlockingServer } from "./blocking-server.js";
import { measureColdStart } from "./cold-start.js";
import { type HeadOfLineCase, type HeadOfLineSetting, probeHeadOfLine } from "./head-of-line.js";
import { measureLargeResults } from "./large-results.js";
import { measureLongJobs } from "./long-jobs.js";
import { machineInfo } from "./machine.js";
import { FULL_PROFILE, QUICK_PROFILE } from "./profile.js";
import { previousColdStartOf, writeReport } from "./report.js";
import { runScenarios } from "./scenarios.js";
import { type BenchStack, benchCallPolicy, startBenchStack } from "./stack.js";
import { measureStartLatency, WORKER_OFF, WORKER_ON } from "./start-latency.js";
import { measureThroughput } from "./throughput.js";
import { measureVisibilityLag } from "./visibility-lag.js";

// The SDK warns about Node 20 on every client; Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const quick = process.argv.includes("--quick");
const profile = quick ? QUICK_PROFILE : FULL_PROFILE;
const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));
const runStarted = performance.now();

/** The worker as lib/worker.ts deploys it: WORKER_BATCH_SIZE (1) job per invocation, 20 at once. */
const DEPLOYED_WORKER = { workerConcurrency: WORKER_MAX_CONCURRENCY, workerBatchSize: WORKER_BATCH_SIZE };

/**
 * Head-of-line blocking, before and after: batches of 10 on 5 pollers (C = 50) with one long job
 * on each poller, then the deployed setting with every slot but one holding a long job.
 */
const HEAD_OF_LINE_SETTINGS: readonly HeadOfLineSetting[] = [
  { id: "batch-10", label: "batches of 10, as before", pollers: 5, batchSize: 10, longJobs: 5 },
  {
    id: "deployed",
    label: `${WORKER_BATCH_SIZE === 1 ? "one job per invocation" : `batches of ${WORKER_BATCH_SIZE}`}, as deployed`,
    pollers: WORKER_MAX_CONCURRENCY,
    batchSize: WORKER_BATCH_SIZE,
    longJobs: WORKER_MAX_CONCURRENCY - 1,
  },
];

// Past this the run is stuck: exit, which also kills DynamoDB Local (the emulator harness does that on exit).
setTimeout(() => {
  console.error(`bench: still running after ${profile.watchdogMs / 60_000} min; giving up.`);
  process.exit(2);
}, profile.watchdogMs).unref();

const cleanups: Array<() => Promise<void>> = [];
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`bench: ${signal}, stopping…`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
}

const phaseSeconds: Record<string, number> = {};
async function phase<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  log(`${name}…`);
  const result = await work();
  phaseSeconds[name] = Number(((performance.now() - started) / 1000).toFixed(1));
  log(`${name} done in ${phaseSeconds[name]} s`);
  return result;
}

function log(message: string): void {
  const elapsed = ((performance.now() - runStarted) / 1000).toFixed(0).padStart(4);
  console.error(`[bench ${elapsed} s] ${message}`);
}

/** Runs `work` on a fresh stack and stops the stack afterwards, whatever happens. */
async function withStack<T>(
  emulators: Emulators,
  options: Parameters<typeof startBenchStack>[1],
  errors: string[],
  work: (stack: BenchStack) => Promise<T>,
): Promise<T> {
  const stack = await startBenchStack(emulators, options);
  const stop = async (): Promise<void> => {
    errors.push(...stack.errors());
    await stack.stop();
  };
  cleanups.push(stop);
  try {
    return await work(stack);
  } finally {
    cleanups.splice(cleanups.indexOf(stop), 1);
    await stop();
  }
}

async function main(): Promise<void> {
  const machine = machineInfo(quick);
  const callPolicy = benchCallPolicy();
  log(
    `${profile.name} run on ${machine.cpuModel} (${machine.cores} cores), node ${machine.node}, AWS call policy ${callPolicy}`,
  );

  // First, while java is not running yet: it only needs esbuild and fresh node processes.
  const coldStart = await phase("cold start", () => measureColdStart(profile.coldStartRuns));

  const emulators = await phase("emulators", () => startEmulators());
  cleanups.push(() => emulators.stop());
  const handlerErrors: string[] = [];
  const { scenarios, visibilityLag } = await withStack(
    emulators,
    { prefix: "bench-main", ...DEPLOYED_WORKER },
    handlerErrors,
    async (stack) => {
      const blocking = await startBlockingServer();
      try {
        const scenarios = await phase("scenarios", () =>
          runScenarios({ blocking: blocking.url, async: stack.mcpUrl }, profile.scenarioRepeats),
        );
        const visibilityLag = await phase("visibility lag", () =>
          measureVisibilityLag(stack.mcpUrl, profile.lagSamplesPerMethod),
        );
        return { scenarios, visibilityLag };
      } finally {
        await blocking.close();
      }
    },
  );

  const startLatency = await withStack(
    emulators,
    { prefix: "bench-start", workerConcurrency: 0, workerBatchSize: WORKER_BATCH_SIZE },
    handlerErrors,
    (stack) =>
      phase("start latency", () =>
        measureStartLatency(stack, profile, { ...WORKER_OFF, concurrentClients: profile.concurrentClients }),
      ),
  );

  const startLatencyWorkerOn = await withStack(
    emulators,
    { prefix: "bench-start-worker", ...DEPLOYED_WORKER },
    handlerErrors,
    (stack) =>
      phase("start latency, worker on", () =>
        measureStartLatency(stack, profile, { ...WORKER_ON, concurrentClients: profile.workerOnClients }),
      ),
  );

  const throughput = await withStack(
    emulators,
    {
      prefix: "bench-throughput",
      workerConcurrency: profile.throughputPollers,
      workerBatchSize: profile.throughputBatchSize,
    },
    handlerErrors,
    (stack) => phase("throughput", () => measureThroughput(stack, profile)),
  );

  const headOfLine = await phase("head-of-line", async () => {
    const cases: HeadOfLineCase[] = [];
    for (const setting of HEAD_OF_LINE_SETTINGS) {
      cases.push(
        await withStack(
          emulators,
          {
            prefix: `bench-head-of-line-${setting.id}`,
            workerConcurrency: setting.pollers,
            workerBatchSize: setting.batchSize,
          },
          handlerErrors,
          (stack) => probeHeadOfLine(stack, setting),
        ),
      );
    }
    return cases;
  });

  // Checks come every second here so that a run measures many of them; a check's time does not
  // depend on the interval, and the cost model spaces them 30 s apart.
  const invocations: WorkerInvocation[] = [];
  const longJobs = await withStack(
    emulators,
    {
      prefix: "bench-long-jobs",
      ...DEPLOYED_WORKER,
      env: { BATCH_API_CHECK_SECONDS: "1" },
      onWorkerInvocation: (invocation) => invocations.push(invocation),
    },
    handlerErrors,
    (stack) =>
      phase("long jobs", () =>
        measureLongJobs(stack, invocations, {
          batchJobs: profile.longJobs,
          seconds: profile.longJobSeconds,
          checkSeconds: 1,
        }),
      ),
  );

  const largeResults = await withStack(
    emulators,
    { prefix: "bench-large-results", ...DEPLOYED_WORKER },
    handlerErrors,
    (stack) => phase("large results", () => measureLargeResults(stack)),
  );

  await cleanUp();
  const base = quick ? "latest-quick" : "latest";
  const previousColdStart = previousColdStartOf(
    await readFile(`${RESULTS_DIR}${base}.json`, "utf8").then(JSON.parse, () => undefined),
  );
  const wallSeconds = Number(((performance.now() - runStarted) / 1000).toFixed(1));
  const written = await writeReport(RESULTS_DIR, base, {
    machine,
    profile,
    callPolicy,
    wallSeconds,
    phaseSeconds,
    deployedWorker: { concurrency: WORKER_MAX_CONCURRENCY, batchSize: WORKER_BATCH_SIZE },
    scenarios,
    startLatency,
    startLatencyWorkerOn,
    visibilityLag,
    throughput,
    coldStart,
    ...(previousColdStart ? { previousColdStart } : {}),
    headOfLine,
    largeResults,
    longJobs,
    handlerErrors,
  });
  log(`wrote ${written.join(", ")} (whole run ${wallSeconds} s)`);
}

try {
  await main();
} catch (error) {
  if (!interrupted) console.error("bench failed:", error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
