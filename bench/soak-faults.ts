import { setTimeout as sleep } from "node:timers/promises";
import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import type { JobQueue, RetryScheduler } from "../lambdas/shared/domain/ports.js";
import type { LocalAwsClients } from "../local/aws-clients.js";
import { currentRecords, type DeliveryFaults, invocationAbandoned } from "../local/sqs-poller.js";
import type { Random } from "./soak-mix.js";

/** The fault kinds, each with its own rate flag. */
export const FAULT_KINDS = [
  "abandon",
  "duplicate",
  "sendFail",
  "retryFail",
  "throttle",
  "latency",
  "freeze",
  "cancel",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Probability per opportunity: per invocation, delivery, SendMessage, retry, DynamoDB call, start or job. */
export type FaultRates = Readonly<Record<FaultKind, number>>;

/** What each rate applies to, for the help text and the results. */
export const FAULT_DESCRIPTIONS: Readonly<Record<FaultKind, string>> = {
  abandon:
    "worker invocation dies mid-job (no delete, no failure: SQS redelivers after the visibility timeout)",
  duplicate: "the same message handed to two invocations at once",
  sendFail: "SendMessage fails on a start or on a submit/check job's delayed check",
  retryFail: "ChangeMessageVisibility fails when the worker schedules a retry or a look-again",
  throttle: "a DynamoDB call answers ProvisionedThroughputExceededException (SDK middleware, every attempt)",
  latency: "a DynamoDB call is delayed 0.3-1.5 s (SDK middleware)",
  freeze: "DynamoDB Local frozen 1-2.5 s (SIGSTOP/SIGCONT of its java process), per start",
  cancel: "cancel_job at a random moment 0-2 s after the start, per job",
};

/** Chosen so that a default run (2000 jobs) injects each kind at least about 50 times. */
export const DEFAULT_FAULT_RATES: FaultRates = {
  abandon: 0.05,
  duplicate: 0.03,
  sendFail: 0.05,
  retryFail: 0.08,
  throttle: 0.003,
  latency: 0.003,
  freeze: 0.03,
  cancel: 0.04,
};

/**
 * The error codes each fault kind may legitimately cause. A job that ended `failed` with a code no
 * fault that touched it can cause counts as wrong. Store faults (throttle, latency, freeze) can
 * make a run miss its deadline or use up its deliveries or attempts; lost or repeated deliveries
 * (abandon, sendFail, retryFail) can use up deliveries or attempts; a duplicate delivery and a
 * cancel change no failure code.
 */
export const FAULT_ERROR_CODES: Readonly<Record<FaultKind, readonly string[]>> = {
  abandon: ["delivery_exhausted", "external_api_unavailable", "timeout"],
  duplicate: [],
  sendFail: ["delivery_exhausted"],
  retryFail: ["delivery_exhausted", "external_api_unavailable"],
  throttle: ["delivery_exhausted", "timeout", "external_api_unavailable"],
  latency: ["delivery_exhausted", "timeout", "external_api_unavailable"],
  freeze: ["delivery_exhausted", "timeout", "external_api_unavailable"],
  cancel: [],
};

/** Counts injections, remembers which jobs each one touched, and can be switched off. */
export class FaultBook {
  readonly injected: Record<FaultKind, number> = Object.fromEntries(
    FAULT_KINDS.map((kind) => [kind, 0]),
  ) as Record<FaultKind, number>;
  private readonly touched = new Map<string, Set<FaultKind>>();
  enabled = true;
  /** When the latest injected delay or freeze ends (epoch ms): faults are over only after it. */
  lastEndAt = 0;
  /** Every freeze of DynamoDB Local, as [from, to] epoch ms (`to` 0 while frozen). */
  readonly freezes: Array<[number, number]> = [];

  constructor(
    readonly rates: FaultRates,
    readonly random: Random,
  ) {}

  /** Decides one opportunity of `kind`; counts it and marks the jobs when it fires. */
  roll(kind: FaultKind, jobIds: readonly string[] = []): boolean {
    if (!this.enabled || !this.random.chance(this.rates[kind])) return false;
    this.record(kind, jobIds);
    return true;
  }

  record(kind: FaultKind, jobIds: readonly string[] = []): void {
    this.injected[kind] += 1;
    for (const jobId of jobIds) this.mark(jobId, kind);
  }

  mark(jobId: string, kind: FaultKind): void {
    const kinds = this.touched.get(jobId) ?? new Set<FaultKind>();
    kinds.add(kind);
    this.touched.set(jobId, kinds);
  }

  faultsOf(jobId: string): ReadonlySet<FaultKind> {
    return this.touched.get(jobId) ?? new Set();
  }
}

/** The job ids of the worker invocation this code runs in. */
function invocationJobIds(): string[] {
  return currentRecords().flatMap((record) => {
    try {
      const jobId = (JSON.parse(record.body) as { jobId?: unknown }).jobId;
      return typeof jobId === "string" ? [jobId] : [];
    } catch {
      return [];
    }
  });
}

/** The job a DynamoDB request names, from its key or item (helper rows name none). */
function requestJobIds(input: unknown): string[] {
  const request = input as {
    Key?: { id?: { S?: string } };
    Item?: { id?: { S?: string } };
    TransactItems?: Array<{ Put?: { Item?: { id?: { S?: string } } } }>;
  };
  const ids = [
    request.Key?.id?.S,
    request.Item?.id?.S,
    ...(request.TransactItems ?? []).map((item) => item.Put?.Item?.id?.S),
  ];
  return ids.filter((id): id is string => id !== undefined && /^[0-9a-f-]{36}$/.test(id));
}

/**
 * SDK middleware on a DynamoDB client: throttling errors and latency spikes. It sits inside the
 * retry middleware, so each attempt rolls again and the SDK's own retries answer throttling.
 */
export function addDynamoFaults(clients: LocalAwsClients, book: FaultBook): void {
  clients.dynamo.middlewareStack.add(
    (next) => async (args) => {
      const jobIds = [...invocationJobIds(), ...requestJobIds(args.input)];
      if (book.roll("latency", jobIds)) {
        const delayMs = 300 + book.random.next() * 1_200;
        book.lastEndAt = Math.max(book.lastEndAt, Date.now() + delayMs);
        await sleep(delayMs);
      }
      if (book.roll("throttle", jobIds)) {
        throw new ProvisionedThroughputExceededException({
          message: "Injected: the level of configured provisioned throughput for the table was exceeded.",
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "soakDynamoFaults" },
  );
}

/** A start's SendMessage that fails at `sendFail`. */
export function failingSends(queue: JobQueue, book: FaultBook): JobQueue {
  return {
    async send(message, options) {
      if (book.roll("sendFail")) throw new Error("Injected: SendMessage failed");
      return queue.send(message, options);
    },
  };
}

/**
 * The worker edge's queue: retry scheduling (ChangeMessageVisibility) failing at `retryFail`, and a
 * delayed check's SendMessage failing at `sendFail`.
 */
export function failingRetries(queue: RetryScheduler & JobQueue, book: FaultBook): RetryScheduler & JobQueue {
  return {
    async retryAfter(receiptHandle, delaySeconds) {
      playDead();
      if (book.roll("retryFail", invocationJobIds()))
        throw new Error("Injected: ChangeMessageVisibility failed");
      await queue.retryAfter(receiptHandle, delaySeconds);
      playDead();
    },
    async send(message, options) {
      playDead();
      if (book.roll("sendFail", [message.jobId])) throw new Error("Injected: SendMessage of a check failed");
      await queue.send(message, options);
      playDead();
    },
  };
}

/** Calls made by an abandoned invocation must not land, and their answers must not be seen. */
export function playDead(): void {
  if (invocationAbandoned()) throw new Error("Injected: this invocation was abandoned");
}

/** Duplicate deliveries and abandoned invocations, at their rates. */
export function deliveryFaults(book: FaultBook): DeliveryFaults {
  const jobIdsOf = (records: readonly { body: string }[]): string[] =>
    records.flatMap((record) => {
      try {
        return [String((JSON.parse(record.body) as { jobId?: unknown }).jobId)];
      } catch {
        return [];
      }
    });
  return {
    duplicate: (records) => book.roll("duplicate", jobIdsOf(records)),
    abandonAfterMs: () =>
      book.enabled && book.random.chance(book.rates.abandon) ? book.random.int(20, 1_500) : undefined,
    abandoned: (records) => book.record("abandon", jobIdsOf(records)),
  };
}

/** Freezes DynamoDB Local's java process for a moment; always resumes, also on exit. */
export class DynamoFreezer {
  private frozen = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly resumeOnExit = (): void => this.resume();

  constructor(
    private readonly pid: number,
    private readonly book: FaultBook,
  ) {
    process.on("exit", this.resumeOnExit);
  }

  /** Per start: with the `freeze` rate, freezes for 1-2.5 s unless a freeze is on already. */
  maybeFreeze(openJobIds: () => readonly string[]): void {
    if (this.frozen || !this.book.roll("freeze", openJobIds())) return;
    this.freezeFor(this.book.random.int(1_000, 2_500));
  }

  /** Freezes now for `ms` (a freeze already on is ended first); marks nothing. */
  freezeFor(ms: number): void {
    this.resume();
    this.frozen = true;
    this.book.freezes.push([Date.now(), 0]);
    process.kill(this.pid, "SIGSTOP");
    this.timer = setTimeout(() => this.resume(), ms);
    this.timer.unref();
  }

  resume(): void {
    if (!this.frozen) return;
    this.frozen = false;
    clearTimeout(this.timer);
    const freeze = this.book.freezes[this.book.freezes.length - 1];
    if (freeze !== undefined) freeze[1] = Date.now();
    this.book.lastEndAt = Math.max(this.book.lastEndAt, Date.now());
    try {
      process.kill(this.pid, "SIGCONT");
    } catch {
      // Already gone.
    }
  }

  close(): void {
    this.resume();
    process.off("exit", this.resumeOnExit);
  }
}
