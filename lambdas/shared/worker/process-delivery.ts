import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod";
import { JobStateConflictError } from "../domain/errors.js";
import { isTerminal, type JobError, type JobMessageSchema, type JobRow } from "../domain/job.js";
import type { LogFields } from "../domain/logger.js";
import type { NewJob } from "../domain/ports.js";
import { type JobType, type RunContext, shapeOf } from "../jobs/job-type.js";
import { processCheck } from "./check.js";
import { completeJob } from "./complete-job.js";
import { done, retryAfter, type WorkerDecision } from "./decision.js";
import { newClaimToken, patientRunStore } from "./patience.js";
import { recordFailure, runOnce, timeoutError } from "./run-kit.js";
import { afterSubmit, type CheckMessage, resendLostCheck } from "./submit.js";
import { type Delivery, parseJobMessage, type WorkerDeps } from "./worker-deps.js";

/**
 * The start sends the message before it writes the row (so no row is ever left without a
 * message), so a message may arrive before its row, or name a row whose write timed out at the
 * client and was applied later. Such a message is looked at again for this long after it was sent,
 * then dropped: its start answered an error and no job exists.
 */
export const ROW_WAIT_WINDOW_MS = 90_000;

/**
 * A message this young on its first delivery usually met the start between its send and its row
 * write, a few milliseconds apart: the worker looks again within the invocation after these pauses
 * before it hands the message back for the slower looks below (at least a second each).
 */
export const JUST_SENT_MS = 1_000;
export const JUST_SENT_PAUSES_MS: readonly number[] = [25, 75, 150];

/** Looks again quickly first (the row is usually a few milliseconds behind), then less often. */
export function rowWaitDelaySeconds(receiveCount: number): number {
  return [1, 5, 20][receiveCount - 1] ?? 60;
}

/**
 * Takes one delivery of a job message to its end: claim, run under a deadline, record the outcome.
 * Every write is conditional on the run's attempt, so a duplicate or stale delivery changes nothing.
 * A submit/check job is submitted here; its check messages go to `processCheck`.
 */
export async function processDelivery(deps: WorkerDeps, delivery: Delivery): Promise<WorkerDecision> {
  const { log, settings } = deps;
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
    return done();
  }

  const shaped = shapeOf(jobType);
  if (message.check !== undefined) {
    switch (shaped.shape) {
      case "submit-check":
        return processCheck(deps, delivery, message as CheckMessage, shaped.jobType);
      case "run":
        log.warn("Dropping a check message for a job type that has no checks", context);
        return done();
    }
  }

  // The claim and the outcome writes outlast a store that stalls for a while (WORKER_STORE_PATIENCE_MS).
  const patientDeps = { ...deps, store: patientRunStore(deps, delivery) };
  let claim = await patientDeps.store.claim(message.jobId, settings.leaseMs, newClaimToken());
  for (const pauseMs of justSent(deps, delivery) ? JUST_SENT_PAUSES_MS : []) {
    if (claim.claimed || claim.job !== undefined) break;
    if (delivery.remainingTimeMs() - pauseMs < settings.deadlineMarginMs) break;
    await sleep(pauseMs);
    claim = await patientDeps.store.claim(message.jobId, settings.leaseMs, newClaimToken());
  }
  if (!claim.claimed && claim.job === undefined && mayAdopt(message, delivery)) {
    // The start's own write has not landed since the first look: the message brings the job to life.
    const adopted = await patientDeps.store.adopt(message.job);
    log.info("The start's row never landed; wrote it from the message", { ...context, adopted: !!adopted });
    if (adopted) claim = await patientDeps.store.claim(message.jobId, settings.leaseMs, newClaimToken());
  }
  if (!claim.claimed) return settleUnclaimed(deps, delivery, claim.job, message.type, context);
  // Measured after the claim, which may have waited for the store.
  const runBudgetMs = Math.min(jobType.timeoutMs, delivery.remainingTimeMs() - settings.deadlineMarginMs);

  let job = claim.job;
  const attempt = job.attempt;
  log.info("Job claimed", { ...context, attempt });
  if (job.claimToken !== undefined && (job.leaseExpiresAt ?? 0) - deps.clock.now() < settings.leaseMs / 2) {
    // A claim that took effect late (after a stall) carries the lease stamped when it was sent:
    // renew it before the run, so the run does not stop itself for a lease it barely holds.
    const renewal = await patientDeps.store.renewLease(
      job.id,
      { attempt, token: job.claimToken },
      settings.leaseMs,
    );
    if (!renewal.claimed) return done();
    job = renewal.job ?? job;
  }
  if (runBudgetMs <= 0) {
    return recordFailure(patientDeps, delivery, job, jobType, timeoutError(0));
  }

  const input = jobType.input.safeParse(JSON.parse(job.inputJson));
  if (!input.success) {
    return recordFailure(patientDeps, delivery, job, jobType, {
      code: "invalid_input",
      message: `The stored input no longer fits ${jobType.name}: ${z.prettifyError(input.error)}`,
      retryable: false,
    });
  }

  const claimed = job;
  const run = <T>(
    call: (runContext: RunContext) => Promise<T>,
    after: (outcome: T) => Promise<WorkerDecision>,
  ): Promise<WorkerDecision> =>
    runOnce(patientDeps, delivery, claimed, jobType, runBudgetMs, context, call, after);
  switch (shaped.shape) {
    case "run":
      return run(
        (runContext) => shaped.jobType.run(input.data, runContext),
        (result) => completeRun(patientDeps, delivery, claimed, shaped.jobType, result),
      );
    case "submit-check":
      return run(
        (runContext) => shaped.jobType.submit(input.data, runContext),
        (outcome) => afterSubmit(patientDeps, delivery, claimed, shaped.jobType, outcome),
      );
  }
}

/** A run job's result completes it, unless it cannot be stored. */
async function completeRun(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  jobType: JobType,
  result: unknown,
): Promise<WorkerDecision> {
  const completion = await completeJob(deps, job, result);
  if (completion.kind === "unstored") return recordFailure(deps, delivery, job, jobType, completion.error);
  return completion.kind === "completed" ? done(completion.row) : done();
}

/** A first delivery sent within JUST_SENT_MS: its row is most likely on its way. */
function justSent(deps: Pick<WorkerDeps, "clock">, delivery: Delivery): boolean {
  return (
    delivery.receiveCount === 1 &&
    delivery.sentAtMs !== undefined &&
    deps.clock.now() - delivery.sentAtMs < JUST_SENT_MS
  );
}

/** A start message that carries its job, seen again after its first look found no row. */
function mayAdopt(
  message: z.infer<typeof JobMessageSchema>,
  delivery: Delivery,
): message is z.infer<typeof JobMessageSchema> & { job: NewJob } {
  return message.job !== undefined && message.job.id === message.jobId && delivery.receiveCount >= 2;
}

async function settleUnclaimed(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow | undefined,
  type: string,
  context: LogFields,
): Promise<WorkerDecision> {
  const nowMs = deps.clock.now();
  if (!job && delivery.sentAtMs !== undefined && nowMs - delivery.sentAtMs < ROW_WAIT_WINDOW_MS) {
    const delaySeconds = rowWaitDelaySeconds(delivery.receiveCount);
    deps.log.info("The job's row is not there yet; looking again", { ...context, delaySeconds });
    return retryAfter(delaySeconds);
  }
  if (!job || job.expiresAt * 1000 <= nowMs || isTerminal(job.status)) {
    deps.log.info("Nothing to run: the job is unknown, expired or already ended", {
      ...context,
      status: job?.status,
    });
    return done();
  }
  if (job.checkSeq !== undefined) {
    // Submitted already: this start message is a duplicate, or a redelivery after a lost send.
    return resendLostCheck(deps, delivery, job, type, 0);
  }
  // Another run holds a live lease. Look again once it lapses, in case that run dies.
  const leaseLeftSeconds = Math.ceil(((job.leaseExpiresAt ?? nowMs) - nowMs) / 1000) + 1;
  deps.log.info("Job is held by another run; checking again after its lease", {
    ...context,
    leaseLeftSeconds,
  });
  return retryAfter(leaseLeftSeconds);
}

async function failIfOpen(deps: WorkerDeps, jobId: string, error: JobError): Promise<void> {
  try {
    await deps.store.failOpen(jobId, error);
  } catch (failure) {
    if (!(failure instanceof JobStateConflictError)) throw failure;
  }
}
