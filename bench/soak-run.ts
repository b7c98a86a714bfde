import { setTimeout as sleep } from "node:timers/promises";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callTool, connectClient, type ToolAnswer } from "../cli/mcp-client.js";
import { silentLog } from "../lambdas/shared/domain/logger.js";
import { JOB_TYPES } from "../lambdas/shared/jobs/registry.js";
import { startEmulators } from "../local/emulators.js";
import { startLocalStack } from "../local/local-stack.js";
import {
  addDynamoFaults,
  countingStore,
  DynamoFreezer,
  deliveryFaults,
  FAULT_KINDS,
  FaultBook,
  type FaultKind,
  type FaultRates,
  failingRetries,
  failingSends,
} from "./soak-faults.js";
import { kindPicker, type SoakKind, seededRandom } from "./soak-mix.js";

export interface SoakOptions {
  readonly jobs: number;
  /** The whole run stops by then; jobs not ended by then count as stuck. */
  readonly seconds: number;
  readonly rates: FaultRates;
  readonly seed: number;
  readonly mix: Readonly<Record<string, SoakKind>>;
  /** MCP clients starting and polling jobs at once. */
  readonly agents: number;
  /** Progress lines; default none. */
  readonly progress?: (line: string) => void;
}

export interface KindRow {
  readonly kind: string;
  jobs: number;
  /** Starts that answered a retryable error on every try: the caller was told, nothing ran. */
  refused: number;
  completed: number;
  failed: number;
  cancelled: number;
  lost: number;
  stuck: number;
  wrong: number;
  regressed: number;
  double: number;
}

export interface SoakReport {
  readonly options: Omit<SoakOptions, "progress" | "mix">;
  readonly seconds: number;
  readonly rows: readonly KindRow[];
  readonly total: KindRow;
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** A few of the problems, for the reader: job id, kind and what was wrong. */
  readonly problems: readonly string[];
  /** True when lost, stuck, wrong, regressed and double are all 0. */
  readonly passed: boolean;
}

/** The soak's worker: short timeout and visibility timeout so abandoned runs come back within the run. */
const WORKER_TIMEOUT_MS = 15_000;
const VISIBILITY_TIMEOUT_SECONDS = 20;
/** How long an agent keeps retrying a start that answered a retryable error (a busy machine stalls the store). */
const START_RETRY_MS = 60_000;
const RETRY_PAUSE_MS = 500;
/** Lets late duplicates land before the final reads look for regressed jobs. */
const SETTLE_MS = 3_000;

interface Tracked {
  readonly index: number;
  readonly kind: string;
  readonly input: Record<string, unknown>;
  jobId?: string;
  cancelSent: boolean;
  refused: boolean;
  lost: boolean;
  firstTerminal?: Record<string, unknown>;
}

const PROBLEM_COUNTS = ["lost", "stuck", "wrong", "regressed", "double"] as const;

/**
 * Runs `jobs` jobs of the mix through the whole local stack over MCP while faults are injected,
 * then checks every job against its expected outcome.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const missing = JOB_TYPES.map((type) => type.name).filter((name) => !(name in options.mix));
  if (missing.length > 0) throw new Error(`The soak mix has no entry for job type(s): ${missing.join(", ")}`);
  const log = options.progress ?? (() => {});
  const began = Date.now();
  const deadline = began + options.seconds * 1000;
  const random = seededRandom(options.seed);
  const book = new FaultBook(options.rates, random);
  const outcomeWrites = new Map<string, number>();

  const emulators = await startEmulators();
  const freezer = new DynamoFreezer(emulators.dynamoPid, book);
  const tracked: Tracked[] = [];
  const open = new Set<string>();
  const stack = await startLocalStack({
    port: 0,
    prefix: "soak",
    log: silentLog,
    endpoints: emulators,
    env: {
      WORKER_RETRY_BASE_SECONDS: "1",
      WORKER_RETRY_MAX_SECONDS: "4",
      WORKER_CANCEL_CHECK_MS: "500",
      // batch_api jobs of a few seconds, checked every second.
      BATCH_API_CHECK_SECONDS: "1",
    },
    workerTimeoutMs: WORKER_TIMEOUT_MS,
    queue: { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS },
    overrides: { wrapQueue: (queue) => failingSends(queue, book) },
    workerOverrides: {
      wrapStore: (store) => countingStore(store, outcomeWrites),
      wrapRetries: (retries) => failingRetries(retries, book),
    },
    configureClients: (clients) => addDynamoFaults(clients, book),
    deliveryFaults: deliveryFaults(book),
  });
  const clients: Client[] = [];
  try {
    for (let i = 0; i < options.agents; i++) clients.push(await connectClient(stack.mcpUrl));
    const pick = kindPicker(options.mix, random);
    let next = 0;
    const progress = setInterval(() => {
      const ended = tracked.filter((job) => job.firstTerminal !== undefined).length;
      log(
        `${Math.round((Date.now() - began) / 1000)} s: ${next} started, ${ended} ended, faults ${JSON.stringify(book.injected)}`,
      );
    }, 10_000);
    progress.unref();

    const agent = async (client: Client): Promise<void> => {
      while (next < options.jobs && Date.now() < deadline) {
        const index = next++;
        const kind = pick();
        const entry = options.mix[kind] as SoakKind;
        const job: Tracked = {
          index,
          kind,
          input: entry.input(random, index),
          cancelSent: false,
          refused: false,
          lost: false,
        };
        tracked.push(job);
        freezer.maybeFreeze(() => [...open]);
        const jobId = await startJob(client, job, deadline);
        if (jobId === undefined) continue;
        job.jobId = jobId;
        open.add(jobId);
        if (book.roll("cancel", [jobId])) {
          job.cancelSent = true;
          void cancelLater(client, jobId, random.int(0, 2_000), deadline);
        }
        job.firstTerminal = await pollUntilEnded(client, job, deadline);
        open.delete(jobId);
      }
    };
    await Promise.all(clients.map(agent));
    clearInterval(progress);

    // The final look: faults off, then every started job read once more.
    book.enabled = false;
    freezer.resume();
    await sleep(SETTLE_MS);
    const finals = new Map<string, Record<string, unknown> | "lost">();
    const reader = clients[0] as Client;
    for (const job of tracked) {
      if (job.jobId === undefined) continue;
      finals.set(job.jobId, await readJob(reader, job.jobId, Date.now() + 30_000));
    }
    return summarize(options, tracked, finals, book, outcomeWrites, (Date.now() - began) / 1000);
  } finally {
    freezer.close();
    for (const client of clients) await client.close().catch(() => {});
    await stack.stop();
    await emulators.stop();
  }
}

/** A retryable error (store or queue briefly unavailable) is retried with the same key, as an agent would. */
async function startJob(client: Client, job: Tracked, deadline: number): Promise<string | undefined> {
  const args = { ...job.input, idempotencyKey: `soak-${job.index}` };
  const giveUpAt = Math.min(deadline, Date.now() + START_RETRY_MS);
  while (Date.now() < giveUpAt) {
    const answer = await safeCall(client, `start_${job.kind}`, args);
    const jobId = answer?.structured?.jobId;
    if (answer && !answer.isError && typeof jobId === "string") return jobId;
    await sleep(RETRY_PAUSE_MS);
  }
  job.refused = true;
  return undefined;
}

async function cancelLater(client: Client, jobId: string, afterMs: number, deadline: number): Promise<void> {
  await sleep(afterMs);
  for (let attempt = 1; attempt <= 5 && Date.now() < deadline; attempt++) {
    const answer = await safeCall(client, "cancel_job", { jobId });
    if (answer && !answer.isError) return;
    await sleep(RETRY_PAUSE_MS);
  }
}

async function pollUntilEnded(
  client: Client,
  job: Tracked,
  deadline: number,
): Promise<Record<string, unknown> | undefined> {
  const jobId = job.jobId as string;
  while (Date.now() < deadline) {
    const waitSeconds = Math.max(0, Math.min(5, Math.floor((deadline - Date.now()) / 1000) - 1));
    const answer = await safeCall(client, "get_job", { jobId, waitSeconds });
    if (answer?.isError && /not found/.test(answer.text)) {
      job.lost = true;
      return undefined;
    }
    const view = answer?.isError === false ? answer.structured : undefined;
    if (view && ["completed", "failed", "cancelled"].includes(String(view.status))) return view;
    if (!view) await sleep(RETRY_PAUSE_MS);
  }
  return undefined;
}

async function readJob(
  client: Client,
  jobId: string,
  until: number,
): Promise<Record<string, unknown> | "lost"> {
  while (true) {
    const answer = await safeCall(client, "get_job", { jobId });
    if (answer && !answer.isError && answer.structured) return answer.structured;
    if ((answer?.isError && /not found/.test(answer.text)) || Date.now() > until) return "lost";
    await sleep(RETRY_PAUSE_MS);
  }
}

/** A transport failure (the HTTP call itself) reads as no answer; the caller retries. */
async function safeCall(
  client: Client,
  tool: string,
  args: Record<string, unknown>,
): Promise<ToolAnswer | undefined> {
  try {
    return await callTool(client, tool, args);
  } catch {
    return undefined;
  }
}

function emptyRow(kind: string): KindRow {
  return {
    kind,
    jobs: 0,
    refused: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    lost: 0,
    stuck: 0,
    wrong: 0,
    regressed: 0,
    double: 0,
  };
}

function summarize(
  options: SoakOptions,
  tracked: readonly Tracked[],
  finals: ReadonlyMap<string, Record<string, unknown> | "lost">,
  book: FaultBook,
  outcomeWrites: ReadonlyMap<string, number>,
  seconds: number,
): SoakReport {
  const rows = new Map<string, KindRow>(Object.keys(options.mix).map((kind) => [kind, emptyRow(kind)]));
  const problems: string[] = [];
  const note = (job: Tracked, what: string): void => {
    if (problems.length < 20) problems.push(`${job.kind} #${job.index} ${job.jobId ?? ""}: ${what}`);
  };
  for (const job of tracked) {
    const row = rows.get(job.kind) as KindRow;
    row.jobs++;
    if (job.refused) {
      row.refused++;
      continue;
    }
    const jobId = job.jobId as string;
    const final = finals.get(jobId);
    if (job.lost || final === "lost") {
      row.lost++;
      note(job, "not found");
      continue;
    }
    if (job.firstTerminal === undefined) {
      row.stuck++;
      note(job, `still ${String(final?.status)} at the end`);
      continue;
    }
    const first = job.firstTerminal;
    const status = String(first.status);
    if (status === "completed") row.completed++;
    else if (status === "failed") row.failed++;
    else row.cancelled++;
    if (JSON.stringify(withoutPoll(first)) !== JSON.stringify(withoutPoll(final))) {
      row.regressed++;
      note(job, `changed after it ended: ${JSON.stringify(first)} → ${JSON.stringify(final)}`);
    }
    const writes = outcomeWrites.get(jobId) ?? 0;
    if (writes > 1) {
      row.double++;
      note(job, `${writes} outcome writes`);
    }
    const entry = options.mix[job.kind] as SoakKind;
    const view = first as Parameters<SoakKind["expected"]>[1];
    const error = first.error as { retryable?: boolean } | undefined;
    const allowed =
      entry.expected(job.input, view) ||
      (status === "cancelled" && job.cancelSent) ||
      (status === "failed" && error?.retryable === true && book.faultsOf(jobId).size > 0);
    if (!allowed) {
      row.wrong++;
      note(job, `wrong outcome ${JSON.stringify({ status, result: first.result, error: first.error })}`);
    }
  }
  const total = emptyRow("all");
  for (const row of rows.values()) {
    for (const key of Object.keys(total) as Array<keyof KindRow>) {
      if (key !== "kind") (total[key] as number) += row[key] as number;
    }
  }
  const { progress: _progress, mix: _mix, ...settings } = options;
  return {
    options: settings,
    seconds,
    rows: [...rows.values()],
    total,
    faults: { ...book.injected },
    problems,
    passed: PROBLEM_COUNTS.every((key) => total[key] === 0),
  };
}

function withoutPoll(view: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (view === undefined) return undefined;
  const { pollAfterSeconds: _poll, ...rest } = view;
  return rest;
}

/** The report as Markdown: one table per job kind, one per fault kind. */
export function formatSoakReport(
  report: SoakReport,
  descriptions: Readonly<Record<FaultKind, string>>,
): string {
  const header =
    "| kind | jobs | refused | completed | failed | cancelled | lost | stuck | wrong | regressed | double results |";
  const line = (row: KindRow): string =>
    `| ${row.kind} | ${row.jobs} | ${row.refused} | ${row.completed} | ${row.failed} | ${row.cancelled} | ${row.lost} | ${row.stuck} | ${row.wrong} | ${row.regressed} | ${row.double} |`;
  const faults = FAULT_KINDS.map(
    (kind) => `| ${kind} | ${report.options.rates[kind]} | ${report.faults[kind]} | ${descriptions[kind]} |`,
  );
  return [
    `${report.passed ? "PASSED" : "FAILED"}: ${report.total.jobs} jobs in ${Math.round(report.seconds)} s (seed ${report.options.seed}, ${report.options.agents} agents, limit ${report.options.seconds} s).`,
    "",
    header,
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ...report.rows.map(line),
    line({ ...report.total, kind: "**all**" }),
    "",
    "| fault | rate | injected | what |",
    "|---|--:|--:|---|",
    ...faults,
    ...(report.problems.length > 0
      ? ["", "Problems (first 20):", "", ...report.problems.map((p) => `- ${p}`)]
      : []),
    "",
  ].join("\n");
}
