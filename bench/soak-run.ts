import { setTimeout as sleep } from "node:timers/promises";
import { type AttributeValue, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import * as z from "zod";
import { callTool, connectClient, type ToolAnswer } from "../cli/mcp-client.js";
import { generateWebhookSecret } from "../lambdas/shared/adapters/standard-webhooks.js";
import { type JobRow, JobRowSchema } from "../lambdas/shared/domain/job.js";
import { silentLog } from "../lambdas/shared/domain/logger.js";
import { sha256 } from "../lambdas/shared/domain/sha256.js";
import { JOB_TYPES, jobTypesWith } from "../lambdas/shared/jobs/registry.js";
import { startEmulators } from "../local/emulators.js";
import { type LocalStack, startLocalStack } from "../local/local-stack.js";
import {
  addDynamoFaults,
  DynamoFreezer,
  deliveryFaults,
  FAULT_ERROR_CODES,
  FAULT_KINDS,
  FaultBook,
  type FaultKind,
  type FaultRates,
  failingRetries,
  failingSends,
  playDead,
} from "./soak-faults.js";
import { kindPicker, type SoakKind, seededRandom } from "./soak-mix.js";
import { type ExternalCalls, ExternalLedger, WriteLedger } from "./soak-observe.js";
import { EVENTS_PATH, type EventDelivery, type WebhookDelivery, WebhookReceiver } from "./soak-webhooks.js";

export interface SoakOptions {
  readonly jobs: number;
  /** The whole run stops by then; jobs not ended by then count as stuck. */
  readonly seconds: number;
  readonly rates: FaultRates;
  readonly seed: number;
  readonly mix: Readonly<Record<string, SoakKind>>;
  /** MCP clients starting and polling jobs at once. */
  readonly agents: number;
  /** Share of jobs started with a callbackUrl to the soak's webhook receiver. Default 0.2. */
  readonly webhookShare?: number;
  /** Share of webhook events whose first attempt the receiver answers 503. Default 0.1. */
  readonly webhookRefuseRate?: number;
  /**
   * One long freeze of DynamoDB Local, once half the jobs are started, at a moment when several
   * starts are in flight. 0: none. Default 10.
   */
  readonly stallSeconds?: number;
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
  /** Completed with a stored result whose object is missing or unreadable. */
  lostResult: number;
  regressed: number;
  /** More than one terminal write for the job. */
  double: number;
  /** Two runs (or submits) of the job at once. */
  doubleRun: number;
  /** A submit after a submit the table recorded. */
  resubmit: number;
  /** `cancel(state)` called more than once. */
  doubleCancel: number;
  /** A terminal job for which no terminal write was seen (the observer missed it). */
  unobserved: number;
  /** A job with a callbackUrl whose event no delivery brought, or brought more than once. */
  webhookMissing: number;
  webhookDouble: number;
  /** An ended job whose MCP Events `job.finished` reached the subscriber never, or under two eventIds. */
  eventMissing: number;
  eventDouble: number;
}

export interface Reconciliation {
  /** Job rows in the table. */
  readonly rows: number;
  /** Rows whose id no client saw (in a start's answer or in a start's error). */
  readonly untracked: number;
  /** Rows still queued or running at the end, each with its state as the reason. */
  readonly open: readonly string[];
  /** Messages left on each queue after the drain (visible + in flight + delayed). */
  readonly queues: Readonly<Record<string, number>>;
  /** Writes seen during the quiet period (store wrappers) plus rows that changed between two scans. */
  readonly quietWrites: number;
  readonly quietSeconds: number;
  /** Stored results read back from the bucket. */
  readonly objectsRead: number;
}

export interface Recovery {
  /** When the faults ended: the last start answered, the last freeze thawed, the last delay passed. */
  readonly faultsEndedAt: number;
  /** The longest time from then to a job's terminal state (its row's finishedAt), seconds. */
  readonly longestSeconds: number;
  /** Jobs still open RECOVERY_OPEN_AFTER_SECONDS after the faults ended. */
  readonly openAfter: number;
  /** The stall scenario: its length and how many starts were mid-call when it began. */
  readonly stall?: { readonly seconds: number; readonly startsInFlight: number };
}

export interface WebhookFigures {
  readonly jobs: number;
  readonly deliveries: number;
  /** Deliveries answered 2xx. */
  readonly accepted: number;
  /** Deliveries answered 503 by policy (each must be retried with the same webhook-id). */
  readonly refused: number;
  /** Deliveries whose signature did not verify, or whose event named another job or status. */
  readonly bad: number;
  /** A webhook-id accepted again after a DynamoDB freeze lost its attempt record: allowed, counted. */
  readonly redeliveredAfterFreeze: number;
  /** Events accepted again because the sender recorded an attempt as failed (its timeout passed before the 2xx reached it). */
  readonly retriedAfterTimeout: number;
}

export interface EventFigures {
  /** The soak's one subscription (every job of the caller, no filter), made through the challenge. */
  readonly subscriptionId: string;
  readonly challenges: number;
  readonly deliveries: number;
  readonly accepted: number;
  /** Deliveries answered 503 by policy (each must be retried with the same eventId). */
  readonly refused: number;
  /** Deliveries whose signature, eventId, subscription id, job or status did not check out. */
  readonly bad: number;
  /** An eventId accepted again (the receiver dedupes by eventId): allowed, counted. */
  readonly acceptedAgain: number;
}

export interface SoakReport {
  readonly options: Omit<SoakOptions, "progress" | "mix">;
  /** The AWS call policy the functions ran under (AWS_CALL_POLICY). */
  readonly callPolicy: string;
  readonly seconds: number;
  readonly rows: readonly KindRow[];
  readonly total: KindRow;
  readonly faults: Readonly<Record<FaultKind, number>>;
  readonly external: ExternalCalls;
  readonly terminalWrites: number;
  /** Jobs ended by a terminal write whose call failed at the client (a timeout) but landed. */
  readonly landedUnseen: number;
  readonly reconciliation: Reconciliation;
  readonly recovery: Recovery;
  readonly webhooks: WebhookFigures;
  readonly events: EventFigures;
  /** A few of the problems, for the reader: job id, kind and what was wrong. */
  readonly problems: readonly string[];
  /** True when every problem counter is 0, the reconciliation is clean and recovery is within bounds. */
  readonly passed: boolean;
}

/** The soak's worker: short timeout and visibility timeout so abandoned runs come back within the run. */
const WORKER_TIMEOUT_MS = 15_000;
const VISIBILITY_TIMEOUT_SECONDS = 20;
/** How long the stall's first starts wait for each other before they go with fewer. */
const STALL_GATE_MS = 30_000;

/** A point where `count` callers wait for each other; after `patienceMs` the ones there go on. */
function meetingPoint(count: number, patienceMs: number): { arrive(): Promise<void> } {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    arrive(): Promise<void> {
      arrived++;
      if (arrived === 1) setTimeout(open, patienceMs).unref();
      if (arrived >= count) open();
      return opened;
    },
  };
}

/** How long an agent keeps retrying a start that answered a retryable error (a busy machine stalls the store). */
const START_RETRY_MS = 60_000;
const RETRY_PAUSE_MS = 500;
/** The queues must drain within this after the last job ended (an abandoned message returns after the visibility timeout). */
const DRAIN_LIMIT_MS = 4 * VISIBILITY_TIMEOUT_SECONDS * 1000;
/** No write may land during this window once the queues are empty. */
const QUIET_MS = 5_000;
/**
 * Recovery bounds: once every fault has ended, each job must reach a terminal state within
 * RECOVERY_BOUND_SECONDS, and none may be open RECOVERY_OPEN_AFTER_SECONDS after. A hung_api job
 * started just before the end needs about 45 s by itself (3 runs that time out at ~12 s, plus
 * backoff); an abandoned invocation adds the 20 s visibility timeout.
 */
export const RECOVERY_BOUND_SECONDS = 90;
export const RECOVERY_OPEN_AFTER_SECONDS = 90;
/** WEBHOOK_TIMEOUT_MS plus the delivery function's lease margin (app/notifications.ts). */
const WEBHOOK_TIMEOUT_MS = 10_000;
const WEBHOOK_ATTEMPT_LEASE_MS = WEBHOOK_TIMEOUT_MS + 5_000;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TERMINAL = ["completed", "failed", "cancelled"];

interface Tracked {
  readonly index: number;
  readonly kind: string;
  readonly input: Record<string, unknown>;
  readonly webhook: boolean;
  jobId?: string;
  cancelSent: boolean;
  refused: boolean;
  lost: boolean;
  firstTerminal?: Record<string, unknown>;
}

export const PROBLEM_COUNTS = [
  "lost",
  "stuck",
  "wrong",
  "lostResult",
  "regressed",
  "double",
  "doubleRun",
  "resubmit",
  "doubleCancel",
  "unobserved",
  "webhookMissing",
  "webhookDouble",
  "eventMissing",
  "eventDouble",
] as const;

/** The AWS call policy label: AWS_CALL_POLICY, local (patient, the default) or deployed. */
export function soakCallPolicy(): "local" | "deployed" {
  return process.env.AWS_CALL_POLICY === "deployed" ? "deployed" : "local";
}

/**
 * Runs `jobs` jobs of the mix through the whole local stack over MCP while faults are injected,
 * then checks every job against its expected outcome and reconciles the table and the queues.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const missing = JOB_TYPES.map((type) => type.name).filter((name) => !(name in options.mix));
  if (missing.length > 0) throw new Error(`The soak mix has no entry for job type(s): ${missing.join(", ")}`);
  const log = options.progress ?? (() => {});
  const began = Date.now();
  const deadline = began + options.seconds * 1000;
  const random = seededRandom(options.seed);
  const book = new FaultBook(options.rates, random);
  const external = new ExternalLedger();
  const writes = new WriteLedger(external);
  const callPolicy = soakCallPolicy();
  const webhookShare = options.webhookShare ?? 0.2;
  const refuseRate = options.webhookRefuseRate ?? 0.1;
  const stallSeconds = options.stallSeconds ?? 10;
  const refusals = seededRandom(options.seed + 1);
  const secret = generateWebhookSecret();
  const eventSecret = generateWebhookSecret();
  const receiver = new WebhookReceiver(secret, () => refusals.chance(refuseRate), eventSecret);
  await receiver.start();

  const emulators = await startEmulators();
  const freezer = new DynamoFreezer(emulators.dynamoPid, book);
  const tracked: Tracked[] = [];
  const open = new Set<string>();
  /** Every job id a client was told about: in a start's answer or named in a start's error. */
  const seenIds = new Set<string>();
  const stack = await startLocalStack({
    port: 0,
    prefix: "soak",
    log: silentLog,
    endpoints: emulators,
    callPolicy,
    jobTypes: external.wrap(jobTypesWith({ batchApiCheckSeconds: 1 })),
    env: {
      WORKER_RETRY_BASE_SECONDS: "1",
      WORKER_RETRY_MAX_SECONDS: "4",
      WORKER_CANCEL_CHECK_MS: "500",
      // batch_api jobs of a few seconds, checked every second.
      BATCH_API_CHECK_SECONDS: "1",
      WEBHOOK_SECRET: secret,
      CALLBACK_ALLOWED_ORIGINS: receiver.origin,
      CALLBACK_ALLOW_LOOPBACK: "true",
      WEBHOOK_RETRY_DELAYS_SECONDS: "1",
      WEBHOOK_MAX_ATTEMPTS: "5",
      WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
    },
    workerTimeoutMs: WORKER_TIMEOUT_MS,
    queue: { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS },
    wrap: {
      mcp: {
        queue: (queue) => failingSends(queue, book),
        store: (store) => writes.wrapStore(store),
      },
      worker: {
        store: (store) => writes.wrapStore(store, playDead),
        retries: (retries) => failingRetries(retries, book),
      },
      deadLetter: { store: (store) => writes.wrapStore(store, playDead) },
    },
    configureClients: (clients, fn) => {
      addDynamoFaults(clients, book);
      if (fn === "mcp") writes.watchCancels(clients);
    },
    deliveryFaults: deliveryFaults(book),
  });
  const clients: Client[] = [];
  let faultsEndedAt = 0;
  const endFaults = (): void => {
    if (faultsEndedAt !== 0) return;
    book.enabled = false;
    freezer.resume();
    faultsEndedAt = Math.max(Date.now(), book.lastEndAt);
    log(`${Math.round((Date.now() - began) / 1000)} s: every job started; faults off`);
  };
  let startsInFlight = 0;
  let startsAnswered = 0;
  let stall: Recovery["stall"];
  // Agents spend most of their time polling, so starts rarely overlap by chance: the stall's
  // starts meet at a gate and go together (or after STALL_GATE_MS with those that came).
  const stallGate = meetingPoint(Math.min(4, options.agents), STALL_GATE_MS);
  const meetsStallGate = (index: number): boolean =>
    stall === undefined && stallSeconds > 0 && index >= options.jobs / 2;
  const maybeStall = (index: number): void => {
    if (stall !== undefined || stallSeconds <= 0 || index < options.jobs / 2) return;
    if (startsInFlight < Math.min(4, options.agents)) return;
    stall = { seconds: stallSeconds, startsInFlight };
    book.record("freeze", [...open]);
    freezer.freezeFor(stallSeconds * 1000);
    log(`Stall: DynamoDB Local frozen ${stallSeconds} s with ${startsInFlight} starts in flight`);
  };
  try {
    for (let i = 0; i < options.agents; i++) clients.push(await connectClient(stack.mcpUrl));
    // MCP Events: one subscription to every job of the caller, as a host would make it.
    const subscriptionId = await subscribeToEvents(clients[0] as Client, receiver.origin, eventSecret);
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
          webhook: random.chance(webhookShare),
          cancelSent: false,
          refused: false,
          lost: false,
        };
        tracked.push(job);
        if (meetsStallGate(index)) await stallGate.arrive();
        freezer.maybeFreeze(() => [...open]);
        startsInFlight++;
        const started = startJob(client, job, deadline, receiver.origin, seenIds);
        maybeStall(index);
        const jobId = await started;
        startsInFlight--;
        startsAnswered++;
        if (startsAnswered >= options.jobs) endFaults();
        if (jobId === undefined) continue;
        job.jobId = jobId;
        if (stall !== undefined && book.freezes.length > 0 && faultsEndedAt === 0) {
          // A start that answered while the stall was on was in it.
          const last = book.freezes[book.freezes.length - 1] as [number, number];
          if (last[1] === 0 || last[1] > Date.now() - 1_000) book.mark(jobId, "freeze");
        }
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
    endFaults();

    // The reconciliation: queues drained, then a quiet period, then the table, the bucket and the
    // final reads.
    const queues = await drainQueues(stack, log);
    const quiet = await quietPeriod(stack, writes);
    const reader = clients[0] as Client;
    const finals = new Map<string, Record<string, unknown> | "lost">();
    for (const job of tracked) {
      if (job.jobId === undefined) continue;
      finals.set(job.jobId, await readJob(reader, job.jobId, Date.now() + 30_000));
    }
    const objects = await readStoredResults(stack, quiet.rows);
    return summarize({
      options,
      tracked,
      finals,
      book,
      external,
      writes,
      seenIds,
      rows: quiet.rows,
      objects,
      queues,
      quietWrites: quiet.writes,
      faultsEndedAt,
      stall,
      receiver,
      subscriptionId,
      callPolicy,
      seconds: (Date.now() - began) / 1000,
    });
  } finally {
    freezer.close();
    for (const client of clients) await client.close().catch(() => {});
    await stack.stop();
    await emulators.stop();
    await receiver.close();
  }
}

type Row = JobRow;

/** Waits until the job, dead-letter, notification and notification dead-letter queues hold nothing. */
async function drainQueues(stack: LocalStack, log: (line: string) => void): Promise<Record<string, number>> {
  const { resources } = stack;
  const urls: Record<string, string> = {
    jobs: resources.queueUrl,
    "jobs-dlq": resources.deadLetterQueueUrl,
    notifications: resources.notificationQueueUrl,
    "notifications-dlq": resources.notificationDeadLetterQueueUrl,
  };
  const until = Date.now() + DRAIN_LIMIT_MS;
  let counts: Record<string, number> = {};
  let emptyReads = 0;
  while (true) {
    counts = {};
    for (const [name, url] of Object.entries(urls)) counts[name] = await countMessages(stack, url);
    emptyReads = Object.values(counts).every((count) => count === 0) ? emptyReads + 1 : 0;
    // Two empty reads in a row: a message moving between queues is not missed.
    if (emptyReads >= 2 || Date.now() > until) return counts;
    if (emptyReads === 0) log(`Draining: ${JSON.stringify(counts)}`);
    await sleep(1_000);
  }
}

async function countMessages(stack: LocalStack, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Every job row of the table (the soak may Scan; the product never does). */
async function scanJobRows(stack: LocalStack): Promise<Map<string, Row>> {
  const rows = new Map<string, Row>();
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await stack.clients.dynamo.send(
      new ScanCommand({
        TableName: stack.resources.tableName,
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const parsed = JobRowSchema.safeParse(unmarshall(item));
      if (parsed.success) rows.set(parsed.data.id, parsed.data);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return rows;
}

/**
 * With the queues empty nothing should write: waits until no write has landed for QUIET_MS, then
 * watches a further QUIET_MS through the store wrappers and compares two scans around it.
 */
async function quietPeriod(
  stack: LocalStack,
  writes: WriteLedger,
): Promise<{ rows: Map<string, Row>; writes: number }> {
  const until = Date.now() + DRAIN_LIMIT_MS;
  while (Date.now() - writes.lastWriteAt < QUIET_MS && Date.now() < until) await sleep(250);
  const before = await scanJobRows(stack);
  const writesBefore = writes.writes;
  const watchedFrom = Date.now();
  while (Date.now() - watchedFrom < QUIET_MS) await sleep(250);
  const after = await scanJobRows(stack);
  let changed = 0;
  for (const [id, row] of after) if (JSON.stringify(row) !== JSON.stringify(before.get(id))) changed++;
  for (const id of before.keys()) if (!after.has(id)) changed++;
  return { rows: after, writes: writes.writes - writesBefore + changed };
}

/** The stored results, read from the bucket by the key each row names: the bytes, or undefined when missing. */
async function readStoredResults(
  stack: LocalStack,
  rows: ReadonlyMap<string, Row>,
): Promise<Map<string, string | undefined>> {
  const objects = new Map<string, string | undefined>();
  for (const row of rows.values()) {
    if (row.resultRef === undefined) continue;
    try {
      const object = await stack.clients.s3.send(
        new GetObjectCommand({ Bucket: stack.resources.resultBucketName, Key: row.resultRef.key }),
      );
      objects.set(row.id, await object.Body?.transformToString("utf-8"));
    } catch {
      objects.set(row.id, undefined);
    }
  }
  return objects;
}

/** A retryable error (store or queue briefly unavailable) is retried with the same key, as an agent would. */
async function startJob(
  client: Client,
  job: Tracked,
  deadline: number,
  receiverOrigin: string,
  seenIds: Set<string>,
): Promise<string | undefined> {
  const args = {
    ...job.input,
    idempotencyKey: `soak-${job.index}`,
    ...(job.webhook ? { callbackUrl: `${receiverOrigin}/hook/${job.index}` } : {}),
  };
  const giveUpAt = Math.min(deadline, Date.now() + START_RETRY_MS);
  while (Date.now() < giveUpAt) {
    const answer = await safeCall(client, `start_${job.kind}`, args);
    const jobId = answer?.structured?.jobId;
    if (answer && !answer.isError && typeof jobId === "string") {
      seenIds.add(jobId);
      return jobId;
    }
    // A start that failed may name the job it tried: the client knows that id.
    for (const named of `${answer?.text ?? ""} ${JSON.stringify(answer?.structured ?? {})}`.match(UUID) ?? [])
      seenIds.add(named);
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
    lostResult: 0,
    regressed: 0,
    double: 0,
    doubleRun: 0,
    resubmit: 0,
    doubleCancel: 0,
    unobserved: 0,
    webhookMissing: 0,
    webhookDouble: 0,
    eventMissing: 0,
    eventDouble: 0,
  };
}

interface Observed {
  readonly options: SoakOptions;
  readonly tracked: readonly Tracked[];
  readonly finals: ReadonlyMap<string, Record<string, unknown> | "lost">;
  readonly book: FaultBook;
  readonly external: ExternalLedger;
  readonly writes: WriteLedger;
  readonly seenIds: ReadonlySet<string>;
  readonly rows: ReadonlyMap<string, Row>;
  readonly objects: ReadonlyMap<string, string | undefined>;
  readonly queues: Readonly<Record<string, number>>;
  readonly quietWrites: number;
  readonly faultsEndedAt: number;
  readonly stall: Recovery["stall"];
  readonly receiver: WebhookReceiver;
  readonly subscriptionId: string;
  readonly callPolicy: string;
  readonly seconds: number;
}

/** Error codes the faults that touched a job could cause. */
function excusedCodes(book: FaultBook, jobId: string): Set<string> {
  return new Set([...book.faultsOf(jobId)].flatMap((kind) => FAULT_ERROR_CODES[kind]));
}

function summarize(observed: Observed): SoakReport {
  const { options, tracked, finals, book, external, writes, rows: table, objects, receiver } = observed;
  const rows = new Map<string, KindRow>(Object.keys(options.mix).map((kind) => [kind, emptyRow(kind)]));
  const problems: string[] = [];
  const note = (job: Tracked, what: string): void => {
    if (problems.length < 20) problems.push(`${job.kind} #${job.index} ${job.jobId ?? ""}: ${what}`);
  };
  const deliveriesByIndex = new Map<number, WebhookDelivery[]>();
  for (const delivery of receiver.deliveries) {
    const list = deliveriesByIndex.get(delivery.index) ?? [];
    list.push(delivery);
    deliveriesByIndex.set(delivery.index, list);
  }
  let badDeliveries = receiver.deliveries.filter((delivery) => delivery.event === undefined).length;
  let redeliveredAfterFreeze = 0;
  let retriedAfterTimeout = 0;
  /** Terminal jobs whose only terminal write failed at the client (timed out) and landed anyway. */
  let landedUnseen = 0;
  const hookedIndices = new Set(tracked.filter((job) => job.webhook).map((job) => job.index));
  const eventsByJob = new Map<string, EventDelivery[]>();
  let badEvents = 0;
  for (const delivery of receiver.eventDeliveries) {
    const jobId = delivery.event?.data.jobId;
    if (jobId === undefined || delivery.subscriptionId !== observed.subscriptionId) {
      badEvents++;
      continue;
    }
    eventsByJob.set(jobId, [...(eventsByJob.get(jobId) ?? []), delivery]);
  }
  let eventsAcceptedAgain = 0;
  const endedIds = new Set<string>();
  for (const index of deliveriesByIndex.keys()) if (!hookedIndices.has(index)) badDeliveries++;

  for (const job of tracked) {
    const row = rows.get(job.kind) as KindRow;
    row.jobs++;
    if (job.refused) {
      row.refused++;
      continue;
    }
    const jobId = job.jobId as string;
    const final = finals.get(jobId);
    const stored = table.get(jobId);
    if (job.lost || final === "lost" || stored === undefined) {
      row.lost++;
      note(job, stored === undefined ? "no row in the table" : "not found");
      continue;
    }
    const calls = external.of(jobId);
    if (calls.overlaps > 0) {
      row.doubleRun++;
      note(job, `${calls.overlaps} run(s) began while another run of the job was live`);
    }
    if (calls.resubmits > 0) {
      row.resubmit++;
      note(job, `${calls.resubmits} submit(s) after the submit was recorded`);
    }
    if (calls.cancels > 1) {
      row.doubleCancel++;
      note(job, `cancel(state) called ${calls.cancels} times`);
    }
    const terminalWrites = writes.terminalWrites.get(jobId) ?? 0;
    if (terminalWrites > 1) {
      row.double++;
      note(job, `${terminalWrites} terminal writes`);
    }
    // The agent's polling may run out on a loaded machine; the final read after the drain decides then.
    if (job.firstTerminal === undefined && final !== undefined && TERMINAL.includes(String(final.status)))
      job.firstTerminal = final;
    if (job.firstTerminal === undefined || !TERMINAL.includes(stored.status)) {
      row.stuck++;
      note(job, `still ${stored.status} at the end (attempt ${stored.attempt}, ${openReason(stored)})`);
      continue;
    }
    if (terminalWrites === 0) {
      // A terminal write whose call timed out at the client may still have landed.
      if ((writes.uncertainWrites.get(jobId) ?? 0) > 0) landedUnseen++;
      else {
        row.unobserved++;
        note(job, `ended ${stored.status} with no terminal write seen`);
      }
    }
    const first = job.firstTerminal;
    const status = String(first.status);
    if (status === "completed") row.completed++;
    else if (status === "failed") row.failed++;
    else row.cancelled++;
    if (JSON.stringify(comparable(first)) !== JSON.stringify(comparable(final))) {
      row.regressed++;
      note(job, `changed after it ended: ${JSON.stringify(first)} → ${JSON.stringify(final)}`);
    }
    const entry = options.mix[job.kind] as SoakKind;
    // The result as read back: inline from get_job, or the stored object from the bucket.
    let result: unknown = first.result;
    if (status === "completed" && stored.resultRef !== undefined) {
      const body = objects.get(jobId);
      if (body === undefined) {
        row.lostResult++;
        note(job, `stored result ${stored.resultRef.key} is missing from the bucket`);
        continue;
      }
      const expectedJson = entry.expectedJson?.(job.input);
      const claimsHold =
        Buffer.byteLength(body) === stored.resultRef.bytes && sha256(body) === stored.resultRef.sha256;
      if (!claimsHold || (expectedJson !== undefined && body !== expectedJson)) {
        row.wrong++;
        note(
          job,
          `stored result is ${Buffer.byteLength(body)} bytes, sha256 ${sha256(body).slice(0, 12)}…; expected ${expectedJson === undefined ? "?" : `${Buffer.byteLength(expectedJson)} bytes, ${sha256(expectedJson).slice(0, 12)}…`} (row claims ${stored.resultRef.bytes})`,
        );
        continue;
      }
      result = JSON.parse(body);
    }
    const view = { ...first, result } as Parameters<SoakKind["expected"]>[1];
    const error = first.error as { code?: string } | undefined;
    const allowed =
      entry.expected(job.input, view) ||
      (status === "cancelled" && job.cancelSent) ||
      (status === "failed" && excusedCodes(book, jobId).has(String(error?.code)));
    if (!allowed) {
      row.wrong++;
      note(
        job,
        `wrong outcome ${JSON.stringify({ status, result: first.result, error: first.error, faults: [...book.faultsOf(jobId)] })}`,
      );
    }
    if (TERMINAL.includes(stored.status)) {
      endedIds.add(jobId);
      const events = eventsByJob.get(jobId) ?? [];
      badEvents += events.filter((delivery) => delivery.event?.data.status !== stored.status).length;
      const accepted = events.filter((delivery) => delivery.answered < 300);
      const ids = new Set(accepted.map((delivery) => delivery.webhookId));
      if (accepted.length === 0) {
        row.eventMissing++;
        note(job, `no job.finished event delivered (${events.length} attempts)`);
      } else if (ids.size > 1) {
        row.eventDouble++;
        note(job, `job.finished accepted under ${ids.size} eventIds`);
      } else eventsAcceptedAgain += accepted.length - 1;
    }
    if (job.webhook) {
      const deliveries = deliveriesByIndex.get(job.index) ?? [];
      for (const delivery of deliveries) {
        const data = delivery.event?.data;
        if (data !== undefined && (data.jobId !== jobId || data.status !== stored.status)) badDeliveries++;
      }
      const accepted = deliveries.filter((delivery) => delivery.answered < 300);
      if (accepted.length === 0) {
        row.webhookMissing++;
        note(job, `no webhook delivered (${deliveries.length} attempts)`);
      } else if (accepted.length > 1) {
        const firstAt = (accepted[0] as WebhookDelivery).at;
        const lastAt = (accepted[accepted.length - 1] as WebhookDelivery).at;
        const ids = [...new Set(deliveries.map((delivery) => delivery.webhookId))];
        const target = stored.notifications?.find((candidate) => candidate.webhookId === ids[0]);
        // The same webhook-id again after a 2xx is allowed when each POST was an attempt the sender
        // recorded (it did not see the 2xx in time, so it retried: receivers dedupe by webhook-id),
        // or when DynamoDB Local was frozen between the attempt's claim and the repeat (the
        // attempt's record could not be written and its lease lapsed). Two webhook-ids for one
        // event, or more POSTs than recorded attempts without a freeze, are a double.
        const recordedAttempts =
          ids.length === 1 && target !== undefined && target.attempts >= deliveries.length;
        const frozenBetween = book.freezes.some(
          ([from, to]) => (to === 0 || to >= firstAt - WEBHOOK_ATTEMPT_LEASE_MS) && from <= lastAt,
        );
        if (recordedAttempts) retriedAfterTimeout++;
        else if (ids.length === 1 && frozenBetween) redeliveredAfterFreeze++;
        else {
          row.webhookDouble++;
          note(
            job,
            `webhook accepted ${accepted.length} times in ${deliveries.length} POSTs, ${target?.attempts ?? "?"} attempts recorded: ${accepted.map((d) => `${d.webhookId.slice(0, 12)}… +${((d.at - firstAt) / 1000).toFixed(1)} s`).join(", ")}`,
          );
        }
      }
    }
  }
  const total = emptyRow("all");
  for (const row of rows.values()) {
    for (const key of Object.keys(total) as Array<keyof KindRow>) {
      if (key !== "kind") (total[key] as number) += row[key] as number;
    }
  }

  const openRows = [...table.values()]
    .filter((row) => !TERMINAL.includes(row.status))
    .map((row) => `${row.id} ${row.type} ${row.status}, attempt ${row.attempt}: ${openReason(row)}`);
  const untracked = [...table.keys()].filter((id) => !observed.seenIds.has(id));
  for (const id of untracked.slice(0, 5)) {
    const row = table.get(id) as Row;
    if (problems.length < 20)
      problems.push(`untracked row ${id} (${row.type}, ${row.status}): no client saw it`);
  }
  const finishedTimes = [...table.values()].map((row) =>
    row.finishedAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(row.finishedAt),
  );
  const latest = Math.max(observed.faultsEndedAt, ...finishedTimes.filter(Number.isFinite));
  const recovery: Recovery = {
    faultsEndedAt: observed.faultsEndedAt,
    longestSeconds: openRows.length > 0 ? Number.POSITIVE_INFINITY : (latest - observed.faultsEndedAt) / 1000,
    openAfter: finishedTimes.filter(
      (finishedAt) => finishedAt > observed.faultsEndedAt + RECOVERY_OPEN_AFTER_SECONDS * 1000,
    ).length,
    ...(observed.stall !== undefined ? { stall: observed.stall } : {}),
  };
  const reconciliation: Reconciliation = {
    rows: table.size,
    untracked: untracked.length,
    open: openRows,
    queues: observed.queues,
    quietWrites: observed.quietWrites,
    quietSeconds: QUIET_MS / 1000,
    objectsRead: objects.size,
  };
  const webhooks: WebhookFigures = {
    jobs: hookedIndices.size,
    deliveries: receiver.deliveries.length,
    accepted: receiver.deliveries.filter((delivery) => delivery.answered < 300).length,
    refused: receiver.deliveries.filter((delivery) => delivery.answered === 503).length,
    bad: badDeliveries,
    redeliveredAfterFreeze,
    retriedAfterTimeout,
  };
  for (const jobId of eventsByJob.keys()) if (!endedIds.has(jobId)) badEvents++;
  const events: EventFigures = {
    subscriptionId: observed.subscriptionId,
    challenges: receiver.challenges,
    deliveries: receiver.eventDeliveries.length,
    accepted: receiver.eventDeliveries.filter((delivery) => delivery.answered < 300).length,
    refused: receiver.eventDeliveries.filter((delivery) => delivery.answered === 503).length,
    bad: badEvents,
    acceptedAgain: eventsAcceptedAgain,
  };
  const { progress: _progress, mix: _mix, ...settings } = options;
  const clean =
    PROBLEM_COUNTS.every((key) => total[key] === 0) &&
    reconciliation.untracked === 0 &&
    reconciliation.open.length === 0 &&
    Object.values(reconciliation.queues).every((count) => count === 0) &&
    reconciliation.quietWrites === 0 &&
    webhooks.bad === 0 &&
    events.bad === 0 &&
    recovery.longestSeconds <= RECOVERY_BOUND_SECONDS &&
    recovery.openAfter === 0;
  return {
    options: settings,
    callPolicy: observed.callPolicy,
    seconds: observed.seconds,
    rows: [...rows.values()],
    total,
    faults: { ...book.injected },
    external: external.totals(),
    terminalWrites: [...writes.terminalWrites.values()].reduce((sum, count) => sum + count, 0),
    landedUnseen,
    reconciliation,
    recovery,
    webhooks,
    events,
    problems,
    passed: clean,
  };
}

/** Why a row is still open, from its own fields. */
function openReason(row: Row): string {
  const lease =
    row.leaseExpiresAt === undefined || row.leaseExpiresAt === 0
      ? "no lease (released)"
      : `lease ${Math.round((row.leaseExpiresAt - Date.now()) / 1000)} s from now`;
  const check =
    row.nextCheckAt === undefined
      ? ""
      : `, next check ${Math.round((row.nextCheckAt - Date.now()) / 1000)} s from now`;
  const last = row.lastError === undefined ? "" : `, last error ${row.lastError.code}`;
  return `${lease}${check}${last}`;
}

/** A view without what may still change after the job ended: the poll hint and the webhook's delivery state. */
function comparable(view: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (view === undefined) return undefined;
  const { pollAfterSeconds: _poll, notification: _notification, ...rest } = view;
  return rest;
}

const COUNTER_HEADERS: ReadonlyArray<[keyof KindRow, string]> = [
  ["jobs", "jobs"],
  ["refused", "refused"],
  ["completed", "completed"],
  ["failed", "failed"],
  ["cancelled", "cancelled"],
  ["lost", "lost"],
  ["stuck", "stuck"],
  ["wrong", "wrong"],
  ["lostResult", "lost result"],
  ["regressed", "regressed"],
  ["double", "double"],
  ["doubleRun", "double run"],
  ["resubmit", "resubmit"],
  ["doubleCancel", "double cancel"],
  ["unobserved", "unobserved"],
  ["webhookMissing", "webhook missing"],
  ["webhookDouble", "webhook double"],
  ["eventMissing", "event missing"],
  ["eventDouble", "event double"],
];

/** The report as Markdown: one table per job kind, one per fault kind, the reconciliation and recovery. */
export function formatSoakReport(
  report: SoakReport,
  descriptions: Readonly<Record<FaultKind, string>>,
): string {
  const header = `| kind | ${COUNTER_HEADERS.map(([, title]) => title).join(" | ")} |`;
  const line = (row: KindRow): string =>
    `| ${row.kind} | ${COUNTER_HEADERS.map(([key]) => String(row[key])).join(" | ")} |`;
  const faults = FAULT_KINDS.map(
    (kind) =>
      `| ${kind} | ${report.options.rates[kind]} | ${report.faults[kind]} | ${FAULT_ERROR_CODES[kind].join(", ") || "none"} | ${descriptions[kind]} |`,
  );
  const r = report.reconciliation;
  const recovery = report.recovery;
  const stall =
    recovery.stall === undefined
      ? "none"
      : `${recovery.stall.seconds} s with ${recovery.stall.startsInFlight} starts in flight`;
  const x = report.external;
  const w = report.webhooks;
  const e = report.events;
  return [
    `${report.passed ? "PASSED" : "FAILED"}: ${report.total.jobs} jobs in ${Math.round(report.seconds)} s (seed ${report.options.seed}, ${report.options.agents} agents, limit ${report.options.seconds} s, AWS call policy ${report.callPolicy}).`,
    "",
    header,
    `|---|${COUNTER_HEADERS.map(() => "--:").join("|")}|`,
    ...report.rows.map(line),
    line({ ...report.total, kind: "**all**" }),
    "",
    "| fault | rate | injected | may cause | what |",
    "|---|--:|--:|---|---|",
    ...faults,
    "",
    `External calls (fake external side): ${x.runs} runs, ${x.submits} submits, ${x.checks} checks, ${x.cancels} cancel(state); ${x.overlaps} overlapping, ${x.resubmits} re-submits. Terminal writes: ${report.terminalWrites} seen, ${report.landedUnseen} jobs ended by a write whose call failed at the client but landed.`,
    "",
    `Reconciliation: ${r.rows} job rows scanned, ${r.untracked} untracked, ${r.open.length} open; queues left ${JSON.stringify(r.queues)}; ${r.quietWrites} writes in a ${r.quietSeconds} s quiet period; ${r.objectsRead} stored results read from the bucket.`,
    "",
    `Recovery: the longest time from the end of the last fault to a job's terminal state ${Number.isFinite(recovery.longestSeconds) ? `${recovery.longestSeconds.toFixed(1)} s` : "∞ (a job never ended)"} (bound ${RECOVERY_BOUND_SECONDS} s); ${recovery.openAfter} jobs still open ${RECOVERY_OPEN_AFTER_SECONDS} s after (bound 0). Stall: ${stall}.`,
    "",
    `Webhooks: ${w.jobs} jobs with a callbackUrl, ${w.deliveries} deliveries (${w.accepted} accepted, ${w.refused} answered 503 by policy), ${w.bad} bad (signature, job or status), ${w.redeliveredAfterFreeze} redelivered after a freeze, ${w.retriedAfterTimeout} accepted again after the sender recorded a failed attempt.`,
    "",
    `MCP Events: one subscription (${e.challenges} challenge answered), ${e.deliveries} deliveries (${e.accepted} accepted, ${e.refused} answered 503 by policy), ${e.bad} bad (signature, eventId, subscription, job or status), ${e.acceptedAgain} accepted again under the same eventId.`,
    ...(r.open.length > 0 ? ["", "Open rows:", "", ...r.open.slice(0, 10).map((row) => `- ${row}`)] : []),
    ...(report.problems.length > 0
      ? ["", "Problems (first 20):", "", ...report.problems.map((p) => `- ${p}`)]
      : []),
    "",
  ].join("\n");
}

/** Subscribes the caller to `job.finished` for every job (no filter), through the verification challenge. */
async function subscribeToEvents(client: Client, origin: string, secret: string): Promise<string> {
  const result = await client.request(
    {
      method: "events/subscribe",
      params: {
        name: "job.finished",
        arguments: {},
        delivery: { mode: "webhook", url: `${origin}${EVENTS_PATH}`, secret },
        cursor: null,
      },
    } as never,
    z.object({ id: z.string() }).passthrough(),
  );
  return result.id;
}
