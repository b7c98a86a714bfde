import * as z from "zod";
import { JobMessageSchema } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { Clock, JobRunStore } from "../domain/ports.js";
import type { ResultWriter } from "../domain/results.js";
import type { JobTypeRegistry } from "../jobs/registry.js";

/** The worker's tunables; the worker's config produces them from the environment. */
export interface WorkerSettings {
  /** Receives per message before SQS dead-letters it: the last receive is the job's last chance. */
  readonly maxReceiveCount: number;
  readonly resultMaxBytes: number;
  readonly resultInlineBytes: number;
  readonly retryBaseSeconds: number;
  readonly retryMaxSeconds: number;
  /** Milliseconds kept back from the invocation's remaining time when a run's deadline is set. */
  readonly deadlineMarginMs: number;
  /** Milliseconds between a run's reads of its row (cancel and takeover). */
  readonly cancelCheckMs: number;
  /** How long a claim holds a job; the live run renews it while it works. */
  readonly leaseMs: number;
  /** How long a claim or an outcome write is tried again while the store does not answer. */
  readonly storePatienceMs: number;
}

/** The worker core's ports: it holds no queue and no receipt handle; it returns a decision. */
export interface WorkerDeps {
  readonly store: JobRunStore;
  /** Where results too large for the row go; absent: such results fail `result_too_large`. */
  readonly results?: ResultWriter;
  readonly registry: JobTypeRegistry;
  readonly settings: WorkerSettings;
  readonly clock: Clock;
  readonly log: Log;
}

/** One SQS delivery, stripped of the event's shape. */
export interface Delivery {
  readonly body: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
  /** Lambda's remaining time for this invocation. */
  remainingTimeMs(): number;
  /** SQS's SentTimestamp (epoch ms): how long ago the start sent this message. */
  readonly sentAtMs?: number;
}

export class MalformedMessageError extends Error {
  constructor(detail: string) {
    super(`Malformed job message: ${detail}`);
    this.name = "MalformedMessageError";
  }
}

/**
 * Why a run stopped: its deadline passed (`timeout`), the job was cancelled or another run took it
 * over, or the store did not answer for so long that this run's lease was about to lapse
 * (`lease_lost`): it stops then, so that two runs of one job never overlap.
 */
export class RunAbort extends Error {
  constructor(readonly reason: "cancelled" | "timeout" | "taken_over" | "lease_lost") {
    super(reason);
    this.name = "RunAbort";
  }
}

/** The job is someone else's now (its canceller's or another run's): this run records nothing. */
export function isLostToAnother(abort: RunAbort): boolean {
  return abort.reason === "cancelled" || abort.reason === "taken_over";
}

export function parseJobMessage(body: string): z.infer<typeof JobMessageSchema> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MalformedMessageError("body is not JSON");
  }
  const parsed = JobMessageSchema.safeParse(json);
  if (!parsed.success) throw new MalformedMessageError(z.prettifyError(parsed.error).replaceAll("\n", " "));
  return parsed.data;
}
