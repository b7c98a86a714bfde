import { randomUUID } from "node:crypto";
import {
  DomainError,
  EnqueueFailedError,
  IdempotencyConflictError,
  JobNotFoundError,
  JobNotRecordedError,
  LimitExceededError,
} from "../domain/errors.js";
import { repeatsRequest } from "../domain/idempotent-start.js";
import { isTerminal, type JobRow, type JobStatus } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import { count, type JobMetrics, METRIC, noMetrics } from "../domain/metrics.js";
import { CallbackRefusedError, type NotificationTarget } from "../domain/notifications.js";
import { isOwnedBy } from "../domain/owner-scope.js";
import type { CallerQuotaStore, Clock, JobPage, JobQueue, JobToolStore, NewJob } from "../domain/ports.js";
import type { JobType } from "../jobs/job-type.js";
import type { CallbackTargets } from "./callback-targets.js";
import { canonicalJson, sha256 } from "./canonical-json.js";
import { callerHash, jobLogFields } from "./job-log.js";
import { recordEnded } from "./job-metrics.js";
import type { NotificationOutbox } from "./notification-outbox.js";

/**
 * Re-reads while a caller waits: quick at first, for fast jobs, then twice a second, so a finished
 * job is seen within about 0.5 s for at most one consistent read per half second.
 */
const WAIT_FIRST_PAUSE_MS = 100;
const WAIT_LONGEST_PAUSE_MS = 500;

/** A start message carries its job up to this size (SQS takes 256 KiB); a larger input stays out. */
const MAX_CARRIED_JOB_CHARS = 200_000;

export interface CallerLimits {
  /** Queued plus running jobs per caller; 0 turns the limit off. */
  readonly maxActiveJobs: number;
  /** Starts per caller per calendar minute; 0 turns the limit off. */
  readonly maxStartsPerMinute: number;
}

export interface JobServiceDeps {
  readonly store: JobToolStore;
  readonly quotas: CallerQuotaStore;
  readonly queue: JobQueue;
  readonly clock: Clock;
  readonly log: Log;
  readonly jobTtlSeconds: number;
  readonly limits: CallerLimits;
  /** Completion webhooks: which callbackUrls are accepted (none without it). */
  readonly callbacks?: CallbackTargets;
  /** Completion webhooks: releases an ended job's notifications (cancel, failed enqueue). */
  readonly outbox?: NotificationOutbox;
  /** Starts, cancels, refusals and failed calls are counted here. @default none */
  readonly metrics?: JobMetrics;
}

export interface StartRequest {
  readonly owner: string;
  readonly jobType: JobType;
  /** Already validated against the job type's schema. */
  readonly input: unknown;
  readonly idempotencyKey?: string;
  /** Where to POST the job's completion event; checked against the operator's allowlist. */
  readonly callbackUrl?: string;
}

export interface WaitOptions {
  /** How long to wait for the job to end, in milliseconds. */
  readonly waitMs: number;
  /** Never waits past this epoch-millisecond instant (the caller's own deadline). */
  readonly notAfter: number;
}

/** The use cases behind the tools. Every read and change is scoped to the calling owner. */
export class JobService {
  private readonly metrics: JobMetrics;

  constructor(private readonly deps: JobServiceDeps) {
    this.metrics = deps.metrics ?? noMetrics;
  }

  async start(request: StartRequest): Promise<JobRow> {
    const { store, queue, clock, log } = this.deps;
    const inputJson = canonicalJson(request.input);
    const notifications = this.callbackTargets(request.callbackUrl);
    // A callbackUrl is part of what an idempotency key promises; without one the hash is as before.
    const callbackPart = request.callbackUrl === undefined ? "" : `\n${request.callbackUrl}`;
    const inputHash = sha256(`${request.jobType.name}\n${inputJson}${callbackPart}`);

    if (request.idempotencyKey !== undefined) {
      const existing = await store.findByIdempotencyKey(request.owner, request.idempotencyKey);
      if (existing) {
        if (!repeatsRequest(existing, inputHash)) throw new IdempotencyConflictError(request.idempotencyKey);
        return existing;
      }
    }
    await this.enforceLimits(request.owner);

    // The message goes first and the row second: a start can then fail only before anything runs
    // (send failed: nothing exists, no notification, no idempotency key held) or leave a message
    // whose row is late or never comes (the worker waits for it a while, then drops it). The reverse
    // order could leave a queued row with no message when a write that timed out at the client is
    // applied later.
    const id = randomUUID();
    const logFields = jobLogFields({ id, type: request.jobType.name, owner: request.owner });
    const job: NewJob = {
      id,
      type: request.jobType.name,
      owner: request.owner,
      inputJson,
      inputHash,
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      maxAttempts: request.jobType.maxAttempts,
      expiresAt: Math.floor(clock.now() / 1000) + this.deps.jobTtlSeconds,
      ...(notifications.length > 0 ? { notifications } : {}),
    };
    // The message carries the job, so that the worker can write its row if this start's write never lands.
    const carried = JSON.stringify(job).length <= MAX_CARRIED_JOB_CHARS;
    try {
      await queue.send({ jobId: id, type: request.jobType.name, ...(carried ? { job } : {}) });
    } catch (error) {
      count(this.metrics, METRIC.queueCallFailures);
      log.error("Could not enqueue a new job; nothing was created", { ...logFields, error });
      throw new EnqueueFailedError({ cause: error });
    }
    try {
      const { job: recorded, created } = await store.create(job);
      // A concurrent start with the same key won (created: false): this message finds no row and lapses.
      if (created) {
        count(this.metrics, METRIC.jobsStarted, { JobType: recorded.type });
        log.info("Job started", logFields);
      }
      return recorded;
    } catch (error) {
      if (error instanceof DomainError) throw error;
      count(this.metrics, METRIC.storeCallFailures);
      log.error("Could not record a new job; its message finds no row unless the write lands late", {
        ...logFields,
        error,
      });
      throw new JobNotRecordedError(id, request.idempotencyKey, { cause: error });
    }
  }

  async get(owner: string, jobId: string): Promise<JobRow> {
    const job = await this.deps.store.get(jobId);
    if (!isOwnedBy(job, owner)) throw new JobNotFoundError(jobId);
    return job;
  }

  /** Re-reads the job with a short backoff until it ends or the wait runs out. */
  async waitFor(owner: string, jobId: string, wait: WaitOptions): Promise<JobRow> {
    const { clock } = this.deps;
    const until = Math.min(clock.now() + wait.waitMs, wait.notAfter);
    let job = await this.get(owner, jobId);
    let pauseMs = WAIT_FIRST_PAUSE_MS;
    while (!isTerminal(job.status) && clock.now() + pauseMs <= until) {
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      pauseMs = Math.min(pauseMs * 1.5, WAIT_LONGEST_PAUSE_MS);
      job = await this.get(owner, jobId);
    }
    return job;
  }

  async cancel(owner: string, jobId: string): Promise<JobRow> {
    const calledAt = new Date(this.deps.clock.now()).toISOString();
    const job = await this.deps.store.cancel(jobId, owner);
    // The store answers an ended job unchanged: this call cancelled it only if it ended just now.
    if (job.status === "cancelled" && job.finishedAt !== undefined && job.finishedAt >= calledAt) {
      recordEnded(this.metrics, job);
      this.deps.log.info("Job cancelled by its caller", jobLogFields(job));
    }
    await this.releaseNotifications(job);
    return job;
  }

  async list(owner: string, query: { status?: JobStatus; limit: number; cursor?: string }): Promise<JobPage> {
    return this.deps.store.listByOwner(owner, query);
  }

  private callbackTargets(callbackUrl: string | undefined): NotificationTarget[] {
    if (this.deps.callbacks) return this.deps.callbacks.targetsFor(callbackUrl);
    if (callbackUrl !== undefined)
      throw new CallbackRefusedError("callbackUrl is not enabled on this server.");
    return [];
  }

  /**
   * Sends an ended job's notifications now instead of when its job message is next seen. A failure
   * here loses nothing for a cancel: the job message is still queued and the worker releases them.
   */
  private async releaseNotifications(job: JobRow): Promise<void> {
    try {
      await this.deps.outbox?.release(job);
    } catch (error) {
      this.deps.log.warn("Could not queue the job's notifications yet", { ...jobLogFields(job), error });
    }
  }

  /**
   * Both limits in one round trip: the active-job count and the per-minute counter are asked at
   * once, before anything of the job exists. A start the active limit refuses (or whose count
   * failed) gives its counted start back, so a refused start never uses up the minute's starts.
   */
  private async enforceLimits(owner: string): Promise<void> {
    const { quotas, limits, clock } = this.deps;
    const countedAt = clock.now();
    const [active, recorded] = await Promise.allSettled([
      limits.maxActiveJobs > 0 ? quotas.countActive(owner, limits.maxActiveJobs) : Promise.resolve(0),
      limits.maxStartsPerMinute > 0
        ? quotas.tryRecordStart(owner, limits.maxStartsPerMinute, countedAt)
        : Promise.resolve(true),
    ]);
    const counted = limits.maxStartsPerMinute > 0 && recorded.status === "fulfilled" && recorded.value;
    const activeRefused =
      active.status === "fulfilled" && limits.maxActiveJobs > 0 && active.value >= limits.maxActiveJobs;
    if ((active.status === "rejected" || activeRefused) && counted) await this.releaseStart(owner, countedAt);
    if (active.status === "rejected") throw active.reason;
    if (activeRefused) {
      this.refused(owner, "active_jobs");
      throw new LimitExceededError(
        `Too many active jobs: you have ${active.value} queued or running (the limit is ${limits.maxActiveJobs}). Wait for one to end (get_job) or cancel one (cancel_job), then start again.`,
      );
    }
    if (recorded.status === "rejected") throw recorded.reason;
    if (!recorded.value) {
      this.refused(owner, "starts_per_minute");
      throw new LimitExceededError(
        `Too many starts: the limit is ${limits.maxStartsPerMinute} per minute. Try again in a minute.`,
      );
    }
  }

  /** A failure here only leaves the minute one start shorter for this caller. */
  private async releaseStart(owner: string, countedAt: number): Promise<void> {
    try {
      await this.deps.quotas.releaseStart(owner, countedAt);
    } catch (error) {
      this.deps.log.warn("Could not give back a refused start's count", { caller: callerHash(owner), error });
    }
  }

  private refused(owner: string, limit: "active_jobs" | "starts_per_minute"): void {
    count(this.metrics, METRIC.callerLimitRefusals, { Limit: limit });
    this.deps.log.info("Start refused by a caller limit", { caller: callerHash(owner), limit });
  }
}
