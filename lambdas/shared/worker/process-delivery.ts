import { z } from "zod";
import type { WorkerConfig } from "../config/config.js";
import { ExternalApiError, JobStateConflictError } from "../domain/errors.js";
import { isTerminal, type JobError, JobMessageSchema, type JobRow, ProgressSchema } from "../domain/job.js";
import type { Log, LogFields } from "../domain/logger.js";
import type { Clock, JobStore, RetryScheduler } from "../domain/ports.js";
import { isSubmitCheck, type JobType, type RunJobType } from "../jobs/job-type.js";
import type { JobTypeRegistry } from "../jobs/registry.js";
import { retryDelaySeconds } from "./backoff.js";

/** The worker's tunables, as its config reads them. */
export type WorkerSettings = Omit<WorkerConfig, "tableName" | "queueUrl">;

export interface WorkerDeps {
  readonly store: JobStore;
  readonly retries: RetryScheduler;
  readonly registry: JobTypeRegistry;
  readonly settings: WorkerSettings;
  readonly clock: Clock;
  readonly log: Log;
}

/** One SQS delivery, stripped of the event's shape. */
export interface Delivery {
  readonly body: string;
  readonly receiptHandle: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
  /** Lambda's remaining time for this invocation. */
  remainingTimeMs(): number;
  /** SQS's SentTimestamp (epoch ms): how long ago the start sent this message. */
  readonly sentAtMs?: number;
}

/**
 * The start sends the message before it writes the row (so no row is ever left without a
 * message), so a message may arrive before its row, or name a row whose write timed out at the
 * client and was applied later. Such a message is looked at again for this long after it was sent,
 * then dropped: its start answered an error and no job exists.
 */
export const ROW_WAIT_WINDOW_MS = 90_000;

/** Looks again quickly first (the row is usually a few milliseconds behind), then less often. */
export function rowWaitDelaySeconds(receiveCount: number): number {
  return [1, 5, 20][receiveCount - 1] ?? 60;
}

/** `done`: delete the message. `retry`: leave it; SQS delivers it again after its visibility delay. */
export type DeliveryOutcome = "done" | "retry";

export class MalformedMessageError extends Error {
  constructor(detail: string) {
    super(`Malformed job message: ${detail}`);
    this.name = "MalformedMessageError";
  }
}

class RunAbort extends Error {
  constructor(readonly reason: "cancelled" | "timeout" | "taken_over") {
    super(reason);
    this.name = "RunAbort";
  }
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

/**
 * Takes one delivery of a job message to its end: claim, run under a deadline, record the outcome.
 * Every write is conditional on the run's attempt, so a duplicate or stale delivery changes nothing.
 */
export async function processDelivery(deps: WorkerDeps, delivery: Delivery): Promise<DeliveryOutcome> {
  const { store, log, settings } = deps;
  const message = parseJobMessage(delivery.body);
  const context = { jobId: message.jobId, type: message.type, receiveCount: delivery.receiveCount };

  let jobType: JobType;
  try {
    jobType = deps.registry.get(message.type);
  } catch {
    log.error("Job type is not registered; failing the job", context);
    await failIfOpen(deps, message.jobId, {
      code: "unknown_job_type",
      message: `This server no longer runs jobs of type ${message.type}.`,
      retryable: false,
    });
    return "done";
  }

  const runBudgetMs = Math.min(jobType.timeoutMs, delivery.remainingTimeMs() - settings.deadlineMarginMs);
  const claim = await store.claim(message.jobId, Math.max(runBudgetMs, 0) + settings.deadlineMarginMs);
  if (!claim.claimed) return settleUnclaimed(deps, delivery, claim.job, context);

  const job = claim.job;
  const attempt = job.attempt;
  log.info("Job claimed", { ...context, attempt });
  if (runBudgetMs <= 0) {
    return recordFailure(deps, delivery, job, jobType, timeoutError(0));
  }

  const input = jobType.input.safeParse(JSON.parse(job.inputJson));
  if (!input.success) {
    return recordFailure(deps, delivery, job, jobType, {
      code: "invalid_input",
      message: `The stored input no longer fits ${jobType.name}: ${z.prettifyError(input.error)}`,
      retryable: false,
    });
  }

  if (isSubmitCheck(jobType)) {
    return recordFailure(deps, delivery, job, jobType, {
      code: "unsupported_job_shape",
      message: `This worker cannot run submit/check jobs such as ${jobType.name}.`,
      retryable: false,
    });
  }

  let outcome: unknown;
  try {
    outcome = await runWithDeadline(deps, job, jobType, input.data, runBudgetMs);
  } catch (error) {
    if (error instanceof RunAbort && error.reason !== "timeout") {
      log.info("Run stopped: the job was cancelled or taken over", {
        ...context,
        attempt,
        reason: error.reason,
      });
      return "done";
    }
    return recordFailure(deps, delivery, job, jobType, toJobError(error, runBudgetMs, log, context));
  }

  const resultJson = JSON.stringify(outcome ?? null);
  const resultBytes = Buffer.byteLength(resultJson, "utf8");
  if (resultBytes > settings.resultMaxBytes) {
    return recordFailure(deps, delivery, job, jobType, {
      code: "result_too_large",
      message: `The result is ${resultBytes} bytes; results are limited to ${settings.resultMaxBytes} bytes.`,
      retryable: false,
    });
  }
  await lenient(deps, job, "complete", () => store.complete(job.id, attempt, resultJson));
  return "done";
}

async function settleUnclaimed(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow | undefined,
  context: LogFields,
): Promise<DeliveryOutcome> {
  const nowMs = deps.clock.now();
  if (!job && delivery.sentAtMs !== undefined && nowMs - delivery.sentAtMs < ROW_WAIT_WINDOW_MS) {
    const delaySeconds = rowWaitDelaySeconds(delivery.receiveCount);
    deps.log.info("The job's row is not there yet; looking again", { ...context, delaySeconds });
    await deps.retries.retryAfter(delivery.receiptHandle, delaySeconds);
    return "retry";
  }
  if (!job || job.expiresAt * 1000 <= nowMs || isTerminal(job.status)) {
    deps.log.info("Nothing to run: the job is unknown, expired or already ended", {
      ...context,
      status: job?.status,
    });
    return "done";
  }
  // Another run holds a live lease. Look again once it lapses, in case that run dies.
  const leaseLeftSeconds = Math.ceil(((job.leaseExpiresAt ?? nowMs) - nowMs) / 1000) + 1;
  deps.log.info("Job is held by another run; checking again after its lease", {
    ...context,
    leaseLeftSeconds,
  });
  await deps.retries.retryAfter(delivery.receiptHandle, leaseLeftSeconds);
  return "retry";
}

async function runWithDeadline(
  deps: WorkerDeps,
  job: JobRow,
  jobType: RunJobType,
  input: unknown,
  budgetMs: number,
): Promise<unknown> {
  const controller = new AbortController();
  const abort = (reason: RunAbort["reason"]): void => {
    if (!controller.signal.aborted) controller.abort(new RunAbort(reason));
  };
  const deadline = setTimeout(() => abort("timeout"), budgetMs);
  const checkStillOwned = async (): Promise<void> => {
    const current = await deps.store.get(job.id).catch(() => job);
    if (!current || current.status === "cancelled") abort("cancelled");
    else if (current.status !== "running" || current.attempt !== job.attempt) abort("taken_over");
  };
  const watcher = setInterval(() => void checkStillOwned(), deps.settings.cancelCheckMs);

  try {
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
    });
    const run = jobType.run(input as Record<string, unknown>, {
      jobId: job.id,
      attempt: job.attempt,
      signal: controller.signal,
      progress: async (progress) => {
        if (controller.signal.aborted) return;
        // A row must always parse on read, so a job type's malformed progress is dropped, not stored.
        const valid = ProgressSchema.safeParse(progress);
        if (!valid.success) {
          deps.log.warn("Dropping invalid progress", { jobId: job.id, issues: valid.error.issues });
          return;
        }
        const written = await deps.store.progress(job.id, job.attempt, valid.data);
        if (!written) await checkStillOwned();
      },
    });
    // A job type that ignores its signal must not hold the worker past the deadline.
    return await Promise.race([run, aborted]);
  } finally {
    clearTimeout(deadline);
    clearInterval(watcher);
  }
}

function toJobError(error: unknown, budgetMs: number, log: Log, context: LogFields): JobError {
  if (error instanceof RunAbort) return timeoutError(budgetMs);
  if (error instanceof ExternalApiError) return error.toJobError();
  log.error("Job run failed unexpectedly", { ...context, error });
  return { code: "internal_error", message: "The job failed unexpectedly.", retryable: true };
}

function timeoutError(budgetMs: number): JobError {
  return {
    code: "timeout",
    message: `The external call did not answer within ${Math.round(budgetMs / 1000)} s.`,
    retryable: true,
  };
}

async function recordFailure(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  jobType: JobType,
  error: JobError,
): Promise<DeliveryOutcome> {
  const { store, settings } = deps;
  const maxAttempts = Math.min(job.maxAttempts, jobType.maxAttempts, settings.maxReceiveCount);
  const lastChance = job.attempt >= maxAttempts || delivery.receiveCount >= settings.maxReceiveCount;
  if (!error.retryable || lastChance) {
    const final = error.retryable
      ? { ...error, message: `${error.message} Gave up after ${job.attempt} attempts.` }
      : error;
    await lenient(deps, job, "fail", () => store.fail(job.id, job.attempt, final));
    return "done";
  }
  const delaySeconds = retryDelaySeconds(job.attempt, settings.retryBaseSeconds, settings.retryMaxSeconds);
  const released = await lenient(deps, job, "release for retry", () =>
    store.releaseForRetry(job.id, job.attempt, error),
  );
  if (!released) return "done";
  deps.log.info("Transient failure; retrying", { jobId: job.id, attempt: job.attempt, delaySeconds, error });
  await deps.retries.retryAfter(delivery.receiptHandle, delaySeconds);
  return "retry";
}

/** A write that lost its condition means the job moved on (cancelled, taken over): not an error. */
async function lenient(
  deps: WorkerDeps,
  job: JobRow,
  what: string,
  write: () => Promise<JobRow>,
): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (!(error instanceof JobStateConflictError)) throw error;
    deps.log.info(`Could not ${what}: the job moved on without this run`, {
      jobId: job.id,
      attempt: job.attempt,
    });
    return false;
  }
}

async function failIfOpen(deps: WorkerDeps, jobId: string, error: JobError): Promise<void> {
  try {
    await deps.store.failOpen(jobId, error);
  } catch (failure) {
    if (!(failure instanceof JobStateConflictError)) throw failure;
  }
}
