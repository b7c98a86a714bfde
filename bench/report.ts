import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LocalCallPolicy } from "../lambdas/shared/config/config.js";
import type { BundleSize, ColdStartResult } from "./cold-start.js";
import type { HeadOfLineCase } from "./head-of-line.js";
import { type LargeResultsResult, largeResultsSection } from "./large-results.js";
import { type LongJobsResult, MODEL_CHECK_SECONDS, PRICES, WORKER_MEMORY_GB } from "./long-jobs.js";
import type { MachineInfo } from "./machine.js";
import type { BenchProfile } from "./profile.js";
import type { ScenarioRow } from "./scenarios.js";
import type { LatencySeries, StartLatencyResult } from "./start-latency.js";
import type { ThroughputResult } from "./throughput.js";
import type { LagRow } from "./visibility-lag.js";

export interface PreviousColdStart {
  readonly commit: string;
  readonly date: string;
  readonly bundles: Readonly<Record<string, number>>;
  readonly importMs: Readonly<Record<string, number>>;
}

/** The cold-start figures of an earlier results file (latest.json), if it has them. */
export function previousColdStartOf(earlier: unknown): PreviousColdStart | undefined {
  const r = earlier as Partial<BenchResults> | undefined;
  if (r?.coldStart === undefined || r.machine === undefined) return undefined;
  return {
    commit: r.machine.commit,
    date: r.machine.date.slice(0, 10),
    bundles: Object.fromEntries(r.coldStart.bundles.map((b) => [b.function, b.bytes])),
    importMs: Object.fromEntries(
      r.coldStart.variants.flatMap((v) => (v.importMs === undefined ? [] : [[v.id, v.importMs]])),
    ),
  };
}

export interface BenchResults {
  readonly machine: MachineInfo;
  readonly profile: BenchProfile;
  /** The functions' AWS call budgets (AWS_CALL_POLICY): "local" (patient) or "deployed". */
  readonly callPolicy: LocalCallPolicy;
  /** Wall time of the whole run, emulator start-up included. */
  readonly wallSeconds: number;
  readonly phaseSeconds: Readonly<Record<string, number>>;
  /** The worker as lib/worker.ts deploys it, which the scenario and lag phases run. */
  readonly deployedWorker: { readonly concurrency: number; readonly batchSize: number };
  readonly scenarios: readonly ScenarioRow[];
  /** Worker off: the MCP path alone beside the floor (50 clients in the concurrent series). */
  readonly startLatency: StartLatencyResult;
  /** Worker on, as `npm start` runs it: the same series while the worker runs the jobs, 20 clients at once. */
  readonly startLatencyWorkerOn?: StartLatencyResult;
  readonly visibilityLag: readonly LagRow[];
  readonly throughput: ThroughputResult;
  readonly coldStart: ColdStartResult;
  /** Bundle sizes and cold imports of the run this one replaced (the committed latest.json), for comparison. */
  readonly previousColdStart?: PreviousColdStart;
  /** The head-of-line probe on each worker setting, the earlier batching first. */
  readonly headOfLine: readonly HeadOfLineCase[];
  /** Storing and paging through a result of about 10 MB. */
  readonly largeResults?: LargeResultsResult;
  /** Worker time and cost of long jobs: submit/check against a worker held for the call. */
  readonly longJobs: LongJobsResult;
  /** Errors the handlers logged during the run; a clean run has none. */
  readonly handlerErrors: readonly string[];
}

/** Writes `<base>.json` and `<base>.md` into `dir`; returns the two paths. */
export async function writeReport(dir: string, base: string, results: BenchResults): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const jsonPath = join(dir, `${base}.json`);
  const mdPath = join(dir, `${base}.md`);
  await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(mdPath, renderMarkdown(results));
  return [jsonPath, mdPath];
}

export function renderMarkdown(r: BenchResults): string {
  return [
    `# Benchmark results${r.machine.quick ? " (quick run)" : ""}`,
    "",
    `${r.machine.date.slice(0, 10)}, commit \`${r.machine.commit}\`${r.machine.dirty ? " (with uncommitted changes)" : ""}, ${r.profile.name} profile, AWS call policy \`${r.callPolicy}\` (\`AWS_CALL_POLICY\`: ${r.callPolicy === "deployed" ? "the deployed functions' call budgets" : "patient local call budgets"}), whole run ${r.wallSeconds.toFixed(0)} s. Reproduce with \`npm run bench\` (\`npm run bench -- --quick\` for a small run).`,
    "",
    reading(r),
    "",
    machineSection(r.machine),
    scenarioSection(r.scenarios),
    startSection(r.startLatency),
    ...(r.startLatencyWorkerOn ? [workerOnSection(r.startLatencyWorkerOn)] : []),
    lagSection(r.visibilityLag),
    throughputSection(r.throughput),
    coldStartSection(r.coldStart, r.previousColdStart),
    headOfLineSection(r.headOfLine),
    largeResultsSection(r.largeResults),
    longJobsSection(r.longJobs),
    methodSection(r),
  ].join("\n");
}

function reading(r: BenchResults): string {
  const row = (id: string): ScenarioRow | undefined => r.scenarios.find((s) => s.id === id);
  const fast = row("fast-blocking");
  const slow = row("slow-blocking");
  const failing = row("failing-blocking");
  const wait = row("slow-async-wait");
  const poll = row("slow-async-poll10");
  const fastAsync = row("fast-async-startwait");
  const lag = (id: string): string =>
    secs(r.visibilityLag.find((l) => l.method === id)?.lagMs.p50 ?? Number.NaN);
  const st = r.startLatency;
  const tp = r.throughput;
  const mcpBundle = r.coldStart.bundles.find((b) => b.function === "mcp");
  const mcpCold = r.coldStart.variants.find((v) => v.id === "mcp");
  return [
    `**Reading.** A blocking tool holds the agent for as long as the API takes: ${fast?.resultSeconds} s, ${slow?.resultSeconds} s and ${failing?.resultSeconds} s for the 1 s, 15 s and failing 7 s APIs (the reference's 3.2, 17.8 and 7.7 s add the LLM's own turns).`,
    `With the async handle the first answer (the job id) comes in ${wait?.firstAnswerSeconds} s whatever the API's length, well inside a 5 s tool timeout that the blocking slow and failing calls overrun;`,
    `the 15 s result is in hand ${wait?.resultSeconds} s after the start with \`get_job waitSeconds\` (${wait?.toolCalls} tool calls) or ${poll?.resultSeconds} s with polling every 10 s (${poll?.toolCalls} calls), and a 1 s API still needs a single call (${fastAsync?.resultSeconds} s) when the start passes \`waitSeconds\`.`,
    `A start costs ${ms(st.sequential.start.latencyMs.p50)} p50 and ${ms(st.sequential.start.latencyMs.p99)} p99 against ${ms(st.sequential.floor.latencyMs.p50)} and ${ms(st.sequential.floor.latencyMs.p99)} for the bare PutItem + SendMessage on the same emulators (×${st.ratios.sequentialP50} at p50, ×${st.ratios.sequentialP99} at p99; an MCP ping alone is ${ms(st.sequential.ping.latencyMs.p50)}); with ${st.concurrent.start.clients} clients at once the ratio is ×${st.ratios.concurrentP50} at p50.`,
    ...(r.startLatencyWorkerOn ? [workerOnReading(r.startLatencyWorkerOn)] : []),
    `A finished job is seen ${lag("wait")} s later (median) with \`waitSeconds\`, ${lag("poll-1s")} s with 1 s polling and ${lag("poll-10s")} s with 10 s polling.`,
    `${tp.jobs} jobs of ${tp.jobSeconds} s at worker concurrency ${tp.workerConcurrency} (${tp.pollers} invocations at once, ${perInvocation(tp.batchSize)}) took ${secs(tp.wallMs)} s against an ideal ${secs(tp.idealMs)} s (×${tp.wallOverIdeal}), with ${tp.lost} lost.`,
    `The MCP bundle is ${kib(mcpBundle?.bytes)} minified (${kib(mcpBundle?.gzipBytes)} gzip), ${kib(mcpBundle?.coldBytes)} of it on the cold path (entry ${kib(mcpBundle?.entryBytes)}); a fresh process imports it in ${mcpCold?.importMs} ms and answers its first \`initialize\` ${mcpCold?.firstRequestMs} ms later (median), ${r.coldStart.mcpOverNodeMs} ms over an empty node process.`,
    headOfLineReading(r.headOfLine),
    longJobsReading(r.longJobs),
    "All times come from one run on a shared, noisy machine: compare the ratios and the shapes, not the absolute figures.",
  ].join(" ");
}

function headOfLineReading(cases: readonly HeadOfLineCase[]): string {
  const parts = cases.map(
    (h) =>
      `${h.label} (${h.pollers} pollers × ${h.batchSize}), a ${h.shortJobSeconds} s job queued while ${h.longJobsRunning} long jobs ran, with ${h.slots - h.longJobsRunning} of ${h.slots} slots free, waited ${secs(h.busyQueueWaitMs)} s to start`,
  );
  return `Head of line: with ${parts.join("; with ")}.`;
}

function longJobsReading(l: LongJobsResult): string {
  const [batch, held] = l.costs;
  return `An hour of external job time holds the worker ${batch.workerSecondsPerHour} s as submit/check (\`batch_api\`, a check every ${MODEL_CHECK_SECONDS} s, from a measured ${l.checkMs.p50} ms check) against ${held.workerSecondsPerHour} s for a run that waits: $${batch.totalPer1000.toFixed(2)} against $${held.totalPer1000.toFixed(2)} per 1000 one-hour jobs.`;
}

function longJobsSection(l: LongJobsResult): string {
  const [batch, held] = l.costs;
  const row = (c: LongJobsResult["costs"][number]): string =>
    `| ${c.label} | ${c.workerSecondsPerHour} s | ${c.invocationsPerJob} | $${c.computePer1000.toFixed(4)} | $${c.requestsPer1000.toFixed(4)} | $${c.sqsPer1000.toFixed(4)} | $${c.dynamoPer1000.toFixed(4)} | **$${c.totalPer1000.toFixed(2)}** |`;
  return [
    "## 7. Long jobs: worker time per hour of external work",
    "",
    `${l.batchJobs} \`batch_api\` jobs of ${l.batchSeconds} s (checked every ${l.measuredCheckSeconds} s so that one run sees many checks; ${l.completed} of ${l.batchJobs + 1} jobs completed) and one \`slow_api\` job of ${l.slowApiSeconds} s ran through MCP on the deployed worker settings, with the time of every worker invocation recorded. Measured: submit ${l.submitMs.p50} ms p50 (${l.submitMs.n} submits, mean ${l.submitMs.mean} ms), check ${l.checkMs.p50} ms p50 / ${l.checkMs.p95} ms p95 (${l.checkMs.n} checks, mean ${l.checkMs.mean} ms); the \`slow_api\` invocation took ${(l.slowApiInvocationMs / 1000).toFixed(2)} s for a ${l.slowApiSeconds} s call (×${l.slowApiHeldRatio}).`,
    "",
    `Per one-hour job, modelled from those means: ${batch.working}; ${held.working}. Cost per 1000 one-hour jobs, us-east-1 arm64 before free tier: compute = worker seconds × ${WORKER_MEMORY_GB} GB × $${PRICES.lambdaGbSecond}/GB-s × 1000; requests = invocations × $0.20/M; SQS = 3 requests (send, receive, delete) per message × $0.40/M; DynamoDB = worker updates × 2 write units (the table and the owner index, rows under 1 KB) × $0.625/M. A held worker cannot really last an hour (Lambda stops at 15 minutes): that row is what the run shape would cost if it could; \`slow_api\`'s own progress writes (one a second) would add $4.50 per 1000.`,
    "",
    "| Job shape | Worker seconds per hour | Invocations | Compute / 1000 | Requests / 1000 | SQS / 1000 | DynamoDB writes / 1000 | Total / 1000 |",
    "|---|---|---|---|---|---|---|---|",
    row(batch),
    row(held),
    "",
    "These are times on a loaded shared machine against DynamoDB Local; on Lambda a check is a couple of DynamoDB calls and an SQS send, typically tens of milliseconds, so the submit/check figure is if anything high.",
    "",
  ].join("\n");
}

function machineSection(m: MachineInfo): string {
  return [
    "## Machine",
    "",
    "| | |",
    "|---|---|",
    `| CPU | ${m.cpuModel}, ${m.cores} cores |`,
    `| Memory | ${m.memoryGiB} GiB |`,
    `| Node | ${m.node} (the Lambdas run Node 22) |`,
    `| Platform | ${m.platform} |`,
    `| Java (DynamoDB Local) | ${m.java} |`,
    `| Run | ${m.quick ? "--quick" : "full"}, ${m.date} |`,
    "",
  ].join("\n");
}

function scenarioSection(rows: readonly ScenarioRow[]): string {
  return [
    "## 1. The reference scenarios: blocking tools against the async handle",
    "",
    "Blocking rows call a benchmark-only MCP server (same SDK, same stateless JSON transport) whose tools run the job type inline; async rows call the real endpoint. Times are medians, from the tool call leaving the client to the answer arriving. **The reference figures are an agent's total response time, LLM turns included; ours are tool-call times only**, so compare shapes: a blocking call lasts as long as the API, the async first answer is small and constant.",
    "",
    "| Scenario | Reference (agent total) | Time to first answer | Time to result | Tool calls | First answer within 5 s | Job queued for |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.referenceSeconds !== undefined ? `${row.referenceSeconds} s (${row.referenceLabel})` : "—"} | ${row.firstAnswerSeconds} s | ${row.resultSeconds} s | ${row.toolCalls} | ${row.firstAnswerWithin5s ? "yes" : "no"} | ${row.queueWaitSeconds !== undefined ? `${row.queueWaitSeconds} s` : "—"} |`,
    ),
    "",
    `Samples per row: ${rows[0]?.samples ?? 0}. How each row calls: ${rows.map((row) => `*${row.id}*: ${row.how}`).join("; ")}. Outcomes: ${rows.map((row) => `*${row.id}*: ${row.outcomes.join(" / ")}`).join("; ")}.`,
    "",
  ].join("\n");
}

function startSection(s: StartLatencyResult): string {
  return [
    "## 2. Start latency",
    "",
    "`start_slow_api` round trips through the MCP client, the local Function URL, the MCP handler, DynamoDB Local and the SQS emulator, beside the floor: the same PutItem and SendMessage sent with the SDK to the same emulators. Sequential series run in interleaved blocks; the worker is off so nothing else competes for the cores.",
    "",
    ...latencyTables(s),
  ].join("\n");
}

/** The worker-on targets: start p50 and p99 within 1.5× the floor, and 20 clients' p99 too. */
const WORKER_ON_TARGET = 1.5;

function workerOnVerdict(s: StartLatencyResult): string {
  const checks = [
    ["one client p50", s.ratios.sequentialP50],
    ["one client p99", s.ratios.sequentialP99],
    [`${s.concurrent.start.clients} clients p99`, s.ratios.concurrentP99],
  ] as const;
  return checks
    .map(
      ([what, ratio]) =>
        `${what} ×${ratio} (${ratio <= WORKER_ON_TARGET ? "within" : "over"} ×${WORKER_ON_TARGET})`,
    )
    .join(", ");
}

function workerOnReading(s: StartLatencyResult): string {
  return `With the worker running beside it (as \`npm start\` runs), a start costs ${ms(s.sequential.start.latencyMs.p50)} p50 and ${ms(s.sequential.start.latencyMs.p99)} p99 against the floor's ${ms(s.sequential.floor.latencyMs.p50)} and ${ms(s.sequential.floor.latencyMs.p99)} in the same run: ${workerOnVerdict(s)}.`;
}

function workerOnSection(s: StartLatencyResult): string {
  return [
    "## 2b. Start latency with the worker on",
    "",
    `The same series while the local stack's worker runs (its SQS pollers and handlers in the same process, as \`npm start\` runs them), taking the ${s.startArgs.delaySeconds} s jobs the starts queue, the floor's included; ${s.concurrent.start.clients} clients at once in the concurrent series. \`get_job\` reads a job the worker has finished.`,
    "",
    ...latencyTables(s),
    `Targets (×${WORKER_ON_TARGET} the floor): ${workerOnVerdict(s)}.`,
    "",
  ].join("\n");
}

function latencyTables(s: StartLatencyResult): string[] {
  const line = (series: LatencySeries, extra = ""): string => {
    const l = series.latencyMs;
    return `| ${series.label} | ${l.n} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} |${extra}`;
  };
  return [
    "| Series | n | p50 | p95 | p99 | max |",
    "|---|---|---|---|---|---|",
    line(s.sequential.start),
    line(s.sequential.floor),
    line(s.sequential.ping),
    line(s.sequential.getJob),
    line(s.concurrent.start),
    line(s.concurrent.floor),
    "",
    `| Ratio ours / floor | p50 | p99 |`,
    "|---|---|---|",
    `| one client | ×${s.ratios.sequentialP50} | ×${s.ratios.sequentialP99} |`,
    `| ${s.concurrent.start.clients} concurrent clients | ×${s.ratios.concurrentP50} | ×${s.ratios.concurrentP99} |`,
    "",
    `Our own overhead at p50 (one client): ${ms(s.overheadP50Ms)}. Concurrent throughput: ${s.concurrent.start.perSecond} starts/s through MCP against ${s.concurrent.floor.perSecond}/s for the floor (${s.concurrent.start.calls} calls each).`,
    "",
    ...layersTable(s),
  ];
}

/** The same start layer by layer, one client, interleaved with the series above. */
function layersTable(s: StartLatencyResult): string[] {
  if (s.layers.length === 0) return [];
  return [
    "Where a start's time goes: the same start timed layer by layer (one client, in the same interleaved blocks). Each layer's p50 less the one before it is what that layer adds.",
    "",
    "| Layer | p50 | added at p50 | p99 | what it adds |",
    "|---|---|---|---|---|",
    ...s.layers.map((layer, index) => {
      const inner = s.layers[index - 1];
      const added = inner === undefined ? "—" : signedMs(layer.latencyMs.p50 - inner.latencyMs.p50);
      return `| ${layer.label} | ${ms(layer.latencyMs.p50)} | ${added} | ${ms(layer.latencyMs.p99)} | ${layer.adds} |`;
    }),
    "",
  ];
}

function lagSection(rows: readonly LagRow[]): string {
  return [
    "## 3. Completion visibility lag",
    "",
    "From the moment the worker recorded the job's end (`finishedAt` in the row) to the moment the client holds the `completed` answer; same machine clock. Polling clients start at evenly spread phases of their interval, and waiting clients make their first `get_job` call at evenly spread points of the second after the start (an agent's next turn comes some time later): real job ends fall anywhere between two reads. With `waitSeconds` the server re-reads the row after 100 ms, then at pauses growing ×1.5 up to 500 ms.",
    "",
    "| Method | Jobs | Lag p50 | Lag min | Lag max | Tool calls per job (median, start included) |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.completed}/${row.samples} | ${secs(row.lagMs.p50)} s | ${secs(row.lagMs.min)} s | ${secs(row.lagMs.max)} s | ${row.toolCalls} |`,
    ),
    "",
  ].join("\n");
}

function throughputSection(t: ThroughputResult): string {
  const statuses = Object.entries(t.statuses)
    .map(([status, count]) => `${status} ${count}`)
    .join(", ");
  return [
    "## 4. Throughput",
    "",
    `${t.jobs} jobs of \`slow_api\` (${t.jobSeconds} s each), started through MCP by ${t.startLanes} clients at once, run by the worker at concurrency C = ${t.workerConcurrency} (${t.pollers} poller loops, ${perInvocation(t.batchSize)}${t.batchSize > 1 ? "; a batch's records run in parallel, as in the Lambda handler" : ", as the deployed worker takes them"}). Ideal = jobs / C × ${t.jobSeconds} s.`,
    "",
    "| | |",
    "|---|---|",
    `| Wall time (first start → last finishedAt) | ${secs(t.wallMs)} s |`,
    `| Ideal | ${secs(t.idealMs)} s |`,
    `| Wall / ideal | ×${t.wallOverIdeal} |`,
    `| Jobs per second | ${t.jobsPerSecond} (ideal ${(t.workerConcurrency / t.jobSeconds).toFixed(1)}) |`,
    `| Starting all jobs took | ${secs(t.startPhaseMs)} s |`,
    `| CPU used by the node process (handlers, pollers, fauxqs, clients; not DynamoDB Local) | ${t.nodeCpuSeconds} s |`,
    `| Jobs running at once, mean / peak (from the rows' startedAt and finishedAt) | ${t.meanRunning} / ${t.peakRunning} of ${t.workerConcurrency} |`,
    `| Queue wait (createdAt → startedAt) p50 / p95 / max | ${secs(t.queueWaitMs.p50)} / ${secs(t.queueWaitMs.p95)} / ${secs(t.queueWaitMs.max)} s |`,
    `| Run (startedAt → finishedAt) p50 / p95 / max | ${secs(t.runMs.p50)} / ${secs(t.runMs.p95)} / ${secs(t.runMs.max)} s |`,
    `| Statuses | ${statuses} |`,
    `| Lost (not completed) | ${t.lost}${t.timedOut ? " (the bounded wait ran out)" : ""} |`,
    `| Retried (more than one run) | ${t.retried} |`,
    `| Messages left in the queue / dead-letter queue | ${t.queueDepthAfter} / ${t.deadLettersAfter} |`,
    "",
  ].join("\n");
}

function coldStartSection(c: ColdStartResult, previous: PreviousColdStart | undefined): string {
  const before = previous ? ` (${previous.date}, \`${previous.commit}\`)` : "";
  const was = (value: number | undefined, unit: (v: number) => string): string =>
    value === undefined ? "—" : unit(value);
  const shown = ["mcp-one-sdk", "mcp"];
  const costs = shown.map((id) => c.bundles.find((b) => b.function === id));
  const names = [...new Set(costs.flatMap((b) => (b?.packages ?? []).slice(0, 20).map((p) => p.name)))];
  const costOf = (bundle: BundleSize | undefined, name: string): string => {
    const cost = bundle?.packages.find((p) => p.name === name);
    return `${kib(cost?.coldBytes)} / ${kib(cost?.bytes)}`;
  };
  return [
    "## 5. Cold start",
    "",
    `Each handler bundled as the CDK bundles it (esbuild ${c.esbuildVersion} with the options of lib/function-bundle.ts: code split, ESM, minified, target node22, the \`require\` banner, the aliases, AWS SDK bundled, source maps beside the files). *Entry* is index.mjs; *cold path* is the entry and the chunks it imports statically, what a cold start parses; the other chunks load on first use. *Before* is the run this file replaced${before}.`,
    "",
    "| Function | Entry | Cold path | All files | before | gzip (all) | Source maps |",
    "|---|---|---|---|---|---|---|",
    ...c.bundles.map(
      (b) =>
        `| ${b.function} | ${kib(b.entryBytes)} | ${kib(b.coldBytes)} | ${kib(b.bytes)} (${b.files}) | ${was(previous?.bundles[b.function], kib)} | ${kib(b.gzipBytes)} | ${kib(b.sourceMapBytes)} |`,
    ),
    "",
    "Fresh node processes (medians; variants interleaved). *Process* is spawn to exit, node's own start included; *import* and *first request* are timed inside the process.",
    "",
    "| Variant | Runs | Process | Import | Import CPU | Import before | First request |",
    "|---|---|---|---|---|---|---|",
    ...c.variants.map(
      (v) =>
        `| ${v.label} | ${v.runs} | ${v.processMs} ms | ${v.importMs !== undefined ? `${v.importMs} ms` : "—"} | ${v.importCpuMs !== undefined ? `${v.importCpuMs} ms` : "—"} | ${was(previous?.importMs[v.id], (x) => `${x} ms`)} | ${v.firstRequestMs !== undefined ? `${v.firstRequestMs} ms` : "—"} |`,
    ),
    "",
    "What each package adds to the MCP bundle, minified (esbuild metafile; the largest 20 of either bundle), on the cold path / in all files:",
    "",
    `| Package | ${shown.join(" | ")} |`,
    `|---|${shown.map(() => "---").join("|")}|`,
    ...names.map((name) => `| ${name} | ${costs.map((b) => costOf(b, name)).join(" | ")} |`),
    "",
    `The MCP handler's cold start adds ${c.mcpOverNodeMs} ms to an empty node process. Lambda adds its own sandbox start, and runs Node 22 on arm64; these figures are Node ${process.versions.node} on this machine.`,
    "",
  ].join("\n");
}

function headOfLineSection(cases: readonly HeadOfLineCase[]): string {
  const first = cases[0];
  if (first === undefined) return "";
  return [
    "## 6. Head-of-line blocking in the worker",
    "",
    `Worker concurrency is counted in invocations (the event source's maxConcurrency; here, poller loops), and an invocation holds its slot until the longest record of its batch ends. Messages that arrive one at a time are received one per batch. Each setting gets a fresh stack: a ${first.shortJobSeconds} s job runs on the idle worker, then ${first.longJobSeconds} s jobs start one after another (each received alone) until the rows show them all running, and the same ${first.shortJobSeconds} s job starts again. Slots = pollers × batch size, the jobs that could run at once if every batch were full; the long jobs running are counted from their rows at the moment the short job was queued.`,
    "",
    "| Worker | Pollers × batch | Long jobs running / slots | Short job queued for, idle | Short job queued for, behind the long jobs | First long job's end → short job's start | Start call → completed answer, idle / behind |",
    "|---|---|---|---|---|---|---|",
    ...cases.map(
      (h) =>
        `| ${h.label} | ${h.pollers} × ${h.batchSize} | ${h.longJobsRunning} / ${h.slots} | ${secs(h.idleQueueWaitMs)} s | ${secs(h.busyQueueWaitMs)} s | ${secs(h.firstLongEndToShortStartMs)} s | ${secs(h.idleResultMs)} / ${secs(h.busyResultMs)} s |`,
    ),
    "",
    "With batches of 10, one long job on each poller leaves most slots free in name only: every poller is held by a batch of one, so a short job can start only when a long job's invocation ends (an end → start near 0). With one job per invocation a free slot is a free poller, so a short job waits only when every slot runs a job (a negative end → start: it started before any long job ended).",
    "",
  ].join("\n");
}

function methodSection(r: BenchResults): string {
  const phases = Object.entries(r.phaseSeconds)
    .map(([phase, seconds]) => `${phase} ${seconds.toFixed(0)} s`)
    .join(", ");
  return [
    "## Method",
    "",
    "- Everything runs on this machine over loopback: DynamoDB Local (java) and fauxqs, the deployed handlers behind a local Function URL server, the worker fed by an SQS poller that plays the Lambda event source, and MCP SDK `Client`s over Streamable HTTP, all in one node process except java. On AWS the MCP function and the worker run in separate sandboxes; here they share two cores, which is why start latency is measured twice: without a worker (section 2) and with it (section 2b).",
    `- Settings are the deployed defaults (auth \`none\`, no per-caller limits; the scenario and lag phases run the worker as deployed: ${r.deployedWorker.concurrency} invocations at once, ${perInvocation(r.deployedWorker.batchSize)}). Each phase gets its own table and queues on the shared emulators.`,
    `- Phases: ${phases}.`,
    `- Errors the handlers logged: ${r.handlerErrors.length === 0 ? "none" : r.handlerErrors.join("; ")}.`,
    "- Raw figures: `latest.json` beside this file (`latest-quick.*` for `--quick`).",
    "",
  ].join("\n");
}

/** How many jobs an invocation takes, in words. */
function perInvocation(batchSize: number): string {
  return batchSize === 1 ? "one job per invocation" : `batches of up to ${batchSize} jobs`;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

function signedMs(value: number): string {
  return `${value >= 0 ? "+" : "−"}${ms(Math.abs(value))}`;
}

function secs(valueMs: number): string {
  return (valueMs / 1000).toFixed(2);
}

function kib(bytes: number | undefined): string {
  return bytes === undefined ? "—" : `${(bytes / 1024).toFixed(0)} KiB`;
}
