import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callTool, connectClient, type ToolAnswer } from "../cli/mcp-client.js";
import { DEFAULT_LEASE_MS, DEFAULT_STORE_PATIENCE_MS } from "../lambdas/shared/config/config.js";
import type { Log } from "../lambdas/shared/domain/logger.js";
import { slowApi } from "../lambdas/shared/jobs/slow-api.js";
import { UNRECORDED_JOB_ID_META_KEY } from "../lambdas/shared/mcp/tool-schemas.js";
import { type Emulators, startEmulators } from "../local/emulators.js";
import { type LocalStack, startLocalStack } from "../local/local-stack.js";
import { machineInfo } from "./machine.js";

/**
 * DynamoDB Local frozen (SIGSTOP, then SIGCONT) again and again under the local stack with the
 * deployed call budgets (AWS_CALL_POLICY=deployed), while a few clients start jobs and read them.
 * Measures what a user sees: how long every call takes to answer, whether every job, including
 * those whose start answered an error, reaches a terminal state soon after the store is back,
 * whether the ids named in start errors can be found, and whether any job ran its external call
 * more than once. `npm run freeze-recovery` (10 freezes of 40 s, about 15 minutes).
 */

export interface FreezeRecoveryOptions {
  readonly freezes: number;
  readonly freezeSeconds: number;
  readonly clients: number;
  /** Load before each freeze and after each thaw, seconds. */
  readonly loadSeconds: number;
  /** How long after its cycle's thaw a job may take to end before it counts as stuck. */
  readonly settleSeconds: number;
  readonly progress?: (message: string) => void;
}

/** The answer time of a function call behind API Gateway is cut at 29 s. */
export const API_GATEWAY_LIMIT_MS = 29_000;
/** A row that has not landed this long after the thaw never will: the store applies its backlog at once. */
const NEVER_CREATED_AFTER_MS = 30_000;

/** A job whose work is done is terminal within this long (the issue's bound). */
export const WORK_TO_TERMINAL_BOUND_MS = 60_000;

interface CallRecord {
  readonly tool: "start_slow_api" | "get_job";
  readonly ms: number;
  readonly isError: boolean;
  readonly duringFreeze: boolean;
}

interface TrackedJob {
  readonly id: string;
  readonly cycle: number;
  /** "answer": the start answered the job; "error": the start's error named it. */
  readonly source: "answer" | "error";
}

interface RunTimes {
  count: number;
  lastEndAt: number;
}

interface JobEnd {
  readonly status: string;
  readonly finishedAt?: number;
}

export interface CycleResult {
  readonly cycle: number;
  readonly calls: number;
  readonly callsDuringFreeze: number;
  readonly longestCallMs: number;
  readonly errorAnswers: number;
  readonly jobsAnswered: number;
  readonly idsNamedInErrors: number;
  readonly namedFound: number;
  readonly namedNotFound: number;
  readonly terminal: number;
  readonly stillOpen: number;
  /** The longest time from the end of a job's last run to its terminal state. */
  readonly longestWorkToTerminalMs: number;
  /** The longest time from the thaw to a terminal state, over jobs open at the thaw. */
  readonly longestThawToTerminalMs: number;
  readonly doubleRuns: number;
}

export interface FreezeRecoveryResult {
  readonly options: Omit<FreezeRecoveryOptions, "progress">;
  readonly cycles: readonly CycleResult[];
  readonly longestCallMs: number;
  readonly callsOverLimit: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly handlerErrors: readonly string[];
  readonly wallSeconds: number;
}

export async function runFreezeRecovery(options: FreezeRecoveryOptions): Promise<FreezeRecoveryResult> {
  const progress = options.progress ?? (() => undefined);
  const startedAt = Date.now();
  const runs = new Map<string, RunTimes>();
  const counted = {
    ...slowApi,
    async run(input: Parameters<typeof slowApi.run>[0], context: Parameters<typeof slowApi.run>[1]) {
      const times = runs.get(context.jobId) ?? { count: 0, lastEndAt: 0 };
      times.count++;
      runs.set(context.jobId, times);
      try {
        return await slowApi.run(input, context);
      } finally {
        times.lastEndAt = Date.now();
      }
    },
  };
  const handlerErrors: string[] = [];
  // What the handlers logged about each job, shown for a job that does not end.
  const trails = new Map<string, string[]>();
  const trail = (level: string, message: string, fields: Record<string, unknown> = {}): void => {
    const jobId = fields.jobId;
    if (typeof jobId !== "string") return;
    const lines = trails.get(jobId) ?? [];
    const { jobId: _id, error, ...rest } = fields;
    const cause = error instanceof Error ? ` (${error.name}: ${error.message})` : "";
    if (lines.length < 40) {
      lines.push(
        `${new Date().toISOString().slice(11, 23)} ${level} ${message}${cause} ${JSON.stringify(rest)}`,
      );
    }
    trails.set(jobId, lines);
  };
  const log: Log = {
    info: (message, fields) => trail("info", message, fields),
    warn: (message, fields) => trail("warn", message, fields),
    error(message, fields) {
      trail("error", message, fields);
      if (handlerErrors.length < 1_000) handlerErrors.push(message);
    },
  };

  let emulators: Emulators | undefined;
  let stack: LocalStack | undefined;
  const clients: Client[] = [];
  let frozen = false;
  const resume = (): void => {
    if (!frozen || emulators === undefined) return;
    frozen = false;
    process.kill(emulators.dynamoPid, "SIGCONT");
  };
  process.on("exit", resume);
  try {
    emulators = await startEmulators();
    stack = await startLocalStack({
      port: 0,
      prefix: `freeze-${Date.now().toString(36)}`,
      endpoints: emulators,
      log,
      jobTypes: [counted],
      env: {
        AWS_CALL_POLICY: "deployed",
        AUTH_MODE: "none",
        CALLER_MAX_ACTIVE_JOBS: "0",
        CALLER_MAX_STARTS_PER_MINUTE: "0",
      },
    });
    if (stack.callPolicy !== "deployed") throw new Error("the stack did not take AWS_CALL_POLICY=deployed");
    for (let i = 0; i < options.clients; i++) clients.push(await connectClient(stack.mcpUrl));
    const reader = await connectClient(stack.mcpUrl);
    clients.push(reader);

    const calls: CallRecord[] = [];
    const jobs: TrackedJob[] = [];
    const cycles: CycleResult[] = [];
    const ends = new Map<string, JobEnd>();
    let counter = 0;

    for (let cycle = 1; cycle <= options.freezes; cycle++) {
      const cycleCalls: CallRecord[] = [];
      let loadOn = true;
      let isFrozen = false;
      const timedCall = async (
        client: Client,
        tool: CallRecord["tool"],
        args: Record<string, unknown>,
      ): Promise<ToolAnswer> => {
        const duringFreeze = isFrozen;
        const began = Date.now();
        const answer = await callTool(client, tool, args);
        const record = {
          tool,
          ms: Date.now() - began,
          isError: answer.isError,
          duringFreeze: duringFreeze || isFrozen,
        };
        cycleCalls.push(record);
        calls.push(record);
        return answer;
      };
      const load = clients.slice(0, options.clients).map(async (client, index) => {
        while (loadOn) {
          const n = counter++;
          const start = await timedCall(client, "start_slow_api", {
            query: `cycle ${cycle} client ${index} start ${n}`,
            delaySeconds: 1 + (n % 3),
            ...(n % 2 === 0 ? { idempotencyKey: `freeze-${cycle}-${n}` } : {}),
          });
          const answered = start.structured?.jobId;
          const named = start.meta?.[UNRECORDED_JOB_ID_META_KEY];
          if (!start.isError && typeof answered === "string")
            jobs.push({ id: answered, cycle, source: "answer" });
          else if (typeof named === "string") jobs.push({ id: named, cycle, source: "error" });
          const known = jobs.filter((job) => job.cycle === cycle);
          const pick = known[Math.floor(Math.random() * known.length)];
          if (pick) await timedCall(client, "get_job", { jobId: pick.id });
          await sleep(200);
        }
      });

      await sleep(options.loadSeconds * 1000);
      progress(`cycle ${cycle}: freezing DynamoDB Local for ${options.freezeSeconds} s`);
      process.kill(emulators.dynamoPid, "SIGSTOP");
      frozen = true;
      isFrozen = true;
      await sleep(options.freezeSeconds * 1000);
      resume();
      isFrozen = false;
      const thawAt = Date.now();
      await sleep(options.loadSeconds * 1000);
      loadOn = false;
      await Promise.all(load);

      // Every job of this cycle, from answers and from errors: wait for it to end.
      const cycleJobs = jobs.filter((job) => job.cycle === cycle);
      const until = thawAt + options.settleSeconds * 1000;
      let open = cycleJobs.filter((job) => !ends.has(job.id));
      while (open.length > 0 && Date.now() < until) {
        for (const job of open) {
          const answer = await callTool(reader, "get_job", { jobId: job.id });
          const status = answer.structured?.status;
          const finishedAt = answer.structured?.finishedAt;
          if (typeof status === "string" && ["completed", "failed", "cancelled"].includes(status)) {
            ends.set(job.id, {
              status,
              ...(typeof finishedAt === "string" ? { finishedAt: Date.parse(finishedAt) } : {}),
            });
          } else if (answer.isError && /not found/.test(answer.text) && job.source === "error") {
            // A start error's job whose row never landed: a late write lands within seconds of the thaw.
            if (Date.now() > thawAt + NEVER_CREATED_AFTER_MS) ends.set(job.id, { status: "not_found" });
          }
        }
        open = open.filter((job) => !ends.has(job.id));
        if (open.length > 0) await sleep(1_000);
      }

      const named = cycleJobs.filter((job) => job.source === "error");
      const workToTerminal = cycleJobs.flatMap((job) => {
        const end = ends.get(job.id);
        const run = runs.get(job.id);
        return end?.finishedAt !== undefined && run ? [end.finishedAt - run.lastEndAt] : [];
      });
      const thawToTerminal = cycleJobs.flatMap((job) => {
        const end = ends.get(job.id);
        return end?.finishedAt !== undefined && end.finishedAt > thawAt ? [end.finishedAt - thawAt] : [];
      });
      const result: CycleResult = {
        cycle,
        calls: cycleCalls.length,
        callsDuringFreeze: cycleCalls.filter((call) => call.duringFreeze).length,
        longestCallMs: Math.max(0, ...cycleCalls.map((call) => call.ms)),
        errorAnswers: cycleCalls.filter((call) => call.isError).length,
        jobsAnswered: cycleJobs.length - named.length,
        idsNamedInErrors: named.length,
        namedFound: named.filter((job) => ends.has(job.id) && ends.get(job.id)?.status !== "not_found")
          .length,
        namedNotFound: named.filter((job) => ends.get(job.id)?.status === "not_found").length,
        terminal: cycleJobs.filter((job) => ends.has(job.id) && ends.get(job.id)?.status !== "not_found")
          .length,
        stillOpen: cycleJobs.filter((job) => !ends.has(job.id)).length,
        longestWorkToTerminalMs: Math.max(0, ...workToTerminal),
        longestThawToTerminalMs: Math.max(0, ...thawToTerminal),
        doubleRuns: cycleJobs.filter((job) => (runs.get(job.id)?.count ?? 0) > 1).length,
      };
      cycles.push(result);
      for (const job of cycleJobs.filter((tracked) => !ends.has(tracked.id))) {
        const answer = await callTool(reader, "get_job", { jobId: job.id });
        progress(`  still open: ${job.id} (${job.source}): ${answer.text.slice(0, 300)}`);
        for (const line of trails.get(job.id) ?? []) progress(`    ${line}`);
        const run = runs.get(job.id);
        progress(`    runs: ${run?.count ?? 0}`);
      }
      progress(
        `cycle ${cycle}: ${result.calls} calls (longest ${result.longestCallMs} ms), ${cycleJobs.length} jobs (${named.length} named in errors, ${result.namedNotFound} never created), ${result.stillOpen} open, thaw→terminal ≤ ${(result.longestThawToTerminalMs / 1000).toFixed(1)} s, ${result.doubleRuns} run twice`,
      );
    }

    const statuses: Record<string, number> = {};
    for (const job of jobs) {
      const status = ends.get(job.id)?.status ?? "open";
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    const { progress: _progress, ...shown } = options;
    return {
      options: shown,
      cycles,
      longestCallMs: Math.max(0, ...calls.map((call) => call.ms)),
      callsOverLimit: calls.filter((call) => call.ms >= API_GATEWAY_LIMIT_MS).length,
      statuses,
      handlerErrors: [...new Set(handlerErrors)].slice(0, 20),
      wallSeconds: Math.round((Date.now() - startedAt) / 1000),
    };
  } finally {
    resume();
    process.off("exit", resume);
    for (const client of clients) await client.close().catch(() => undefined);
    await stack?.stop();
    await emulators?.stop();
  }
}

/** The checks the run must pass; empty when it did. */
export function failedChecks(result: FreezeRecoveryResult): string[] {
  const failures: string[] = [];
  if (result.callsOverLimit > 0) failures.push(`${result.callsOverLimit} calls took 29 s or more`);
  for (const cycle of result.cycles) {
    const where = `cycle ${cycle.cycle}`;
    if (cycle.stillOpen > 0) failures.push(`${where}: ${cycle.stillOpen} jobs still open`);
    if (cycle.namedNotFound > 0)
      failures.push(`${where}: ${cycle.namedNotFound} ids named in errors were never created`);
    if (cycle.doubleRuns > 0) failures.push(`${where}: ${cycle.doubleRuns} jobs ran their call twice`);
    if (cycle.longestWorkToTerminalMs > WORK_TO_TERMINAL_BOUND_MS) {
      failures.push(`${where}: a job ended ${cycle.longestWorkToTerminalMs} ms after its work was done`);
    }
  }
  return failures;
}

export function renderFreezeRecovery(result: FreezeRecoveryResult, header: string): string {
  const o = result.options;
  const seconds = (ms: number): string => (ms / 1000).toFixed(1);
  const failures = failedChecks(result);
  const statusText = Object.entries(result.statuses)
    .map(([status, count]) => `${count} ${status}`)
    .join(", ");
  return [
    "# Freeze recovery",
    "",
    header,
    "",
    `The local stack ran with \`AWS_CALL_POLICY=deployed\` (each function's deployed call budget) and the worker's defaults (lease ${DEFAULT_LEASE_MS / 1000} s, store patience ${DEFAULT_STORE_PATIENCE_MS / 1000} s). ${o.freezes} times, DynamoDB Local was frozen for ${o.freezeSeconds} s (SIGSTOP, then SIGCONT) while ${o.clients} MCP clients started \`slow_api\` jobs (1–3 s, every other one with an idempotencyKey) and read them with \`get_job\`, for ${o.loadSeconds} s before each freeze, during it and ${o.loadSeconds} s after. After each thaw, every job of the cycle (from the answers, and from the ids named in start errors) was read until it ended. Reproduce with \`npm run freeze-recovery\`.`,
    "",
    `**${failures.length === 0 ? "All checks passed" : `Failed: ${failures.join("; ")}`}.** Longest call: ${seconds(result.longestCallMs)} s (limit 29 s; ${result.callsOverLimit} at or over it). Jobs: ${statusText}. Whole run ${result.wallSeconds} s.`,
    "",
    "| Cycle | Calls (during freeze) | Longest call | Error answers | Jobs answered | Ids named in errors (found / never created) | Terminal | Still open | Work done → terminal (longest) | Thaw → terminal (longest) | Ran twice |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...result.cycles.map(
      (c) =>
        `| ${c.cycle} | ${c.calls} (${c.callsDuringFreeze}) | ${seconds(c.longestCallMs)} s | ${c.errorAnswers} | ${c.jobsAnswered} | ${c.idsNamedInErrors} (${c.namedFound} / ${c.namedNotFound}) | ${c.terminal} | ${c.stillOpen} | ${seconds(c.longestWorkToTerminalMs)} s | ${seconds(c.longestThawToTerminalMs)} s | ${c.doubleRuns} |`,
    ),
    "",
    "- *Work done → terminal*: from the end of a job's last run of its external call (as the wrapper of the job type saw it) to `finishedAt` in its row; the bound is 60 s.",
    "- *Thaw → terminal*: from SIGCONT to `finishedAt`, over the jobs that ended after the thaw: runs whose outcome write fell into the freeze, starts whose row landed late, and jobs queued meanwhile.",
    "- *Ran twice*: jobs whose external call the worker started more than once.",
    "- *Never created*: a start error named the id, but the row never landed, so no job exists and nothing ran (`get_job` answers not found). A start with the same idempotencyKey then starts it anew.",
    ...(result.handlerErrors.length > 0
      ? [
          "",
          "Errors the handlers logged (expected while the store is frozen):",
          "",
          ...result.handlerErrors.map((e) => `- ${e}`),
        ]
      : []),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const index = process.argv.indexOf(`--${name}`);
    const value = index === -1 ? fallback : Number(process.argv[index + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const options: FreezeRecoveryOptions = {
    freezes: arg("freezes", 10),
    freezeSeconds: arg("freeze-seconds", 40),
    clients: arg("clients", 4),
    loadSeconds: arg("load-seconds", 5),
    settleSeconds: arg("settle-seconds", 150),
    progress: (message) =>
      console.error(`[freeze-recovery ${new Date().toISOString().slice(11, 19)}] ${message}`),
  };
  // Bounded: a run that hangs is stopped (the finally blocks resume and stop DynamoDB Local).
  const budgetMs =
    options.freezes * (options.freezeSeconds + 2 * options.loadSeconds + options.settleSeconds + 30) * 1000 +
    120_000;
  const guard = setTimeout(() => {
    console.error(`freeze-recovery: still running after ${budgetMs / 1000} s; stopping`);
    process.exit(2);
  }, budgetMs);
  guard.unref();
  const machine = machineInfo(false);
  const result = await runFreezeRecovery(options);
  const header = `${machine.date.slice(0, 10)}, commit \`${machine.commit}\`${machine.dirty ? " (with uncommitted changes)" : ""}, ${machine.cpuModel} (${machine.cores} cores), node ${machine.node}.`;
  const dir = join(dirname(fileURLToPath(import.meta.url)), "results");
  await mkdir(dir, { recursive: true });
  const path = join(dir, "freeze-recovery.md");
  await writeFile(path, renderFreezeRecovery(result, header));
  const failures = failedChecks(result);
  console.error(`wrote ${path}: ${failures.length === 0 ? "all checks passed" : failures.join("; ")}`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
