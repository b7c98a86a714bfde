import type { JobRow } from "../domain/job.js";
import type { JobMetrics } from "../domain/metrics.js";
import type { JobRunStore, OpenJobFailer } from "../domain/ports.js";
import { recordClaimed, recordEnded, recordRetry } from "../usecases/job-metrics.js";

/**
 * The worker's outcomes are counted where they become facts: every write the worker core decides
 * on is conditional (fenced by status and attempt), so a decision whose write lost its condition
 * (the job was cancelled or taken over meanwhile) changed nothing and is not counted. Wrapping the
 * core's port keeps every path of the core (run, submit, each check, the dead-letter settler) counted
 * alike, and tells `onRow` whose job each row is (for the job's log context).
 */
export function meteredRunStore(
  store: JobRunStore,
  metrics: JobMetrics,
  onRow: (job: JobRow) => void = () => {},
): JobRunStore {
  const seen = (job: JobRow | undefined): JobRow | undefined => {
    if (job !== undefined) onRow(job);
    return job;
  };
  const ended = (check?: number) => (job: JobRow) => {
    onRow(job);
    recordEnded(metrics, job, check);
    return job;
  };
  const retried = (job: JobRow): JobRow => {
    onRow(job);
    recordRetry(metrics, job);
    return job;
  };
  return {
    get: async (id) => seen(await store.get(id)),
    claim: async (id, leaseMs, token) => {
      const outcome = await store.claim(id, leaseMs, token);
      seen(outcome.job);
      if (outcome.claimed) recordClaimed(metrics, outcome.job);
      return outcome;
    },
    claimCheck: async (id, check, leaseMs, token) => {
      const outcome = await store.claimCheck(id, check, leaseMs, token);
      seen(outcome.job);
      return outcome;
    },
    adopt: async (job) => seen(await store.adopt(job)),
    renewLease: (id, fence, leaseMs) => store.renewLease(id, fence, leaseMs),
    recordSubmit: (id, attempt, work) => store.recordSubmit(id, attempt, work),
    recordCheck: (id, fence, pending) => store.recordCheck(id, fence, pending),
    retryCheck: async (id, fence, error) => retried(await store.retryCheck(id, fence, error)),
    markCancelCalled: (id) => store.markCancelCalled(id),
    progress: (id, attempt, progress) => store.progress(id, attempt, progress),
    complete: async (id, attempt, resultJson, check) =>
      ended(check)(await store.complete(id, attempt, resultJson, check)),
    completeWithResultRef: async (id, attempt, ref, check) =>
      ended(check)(await store.completeWithResultRef(id, attempt, ref, check)),
    fail: async (id, attempt, error, check) => ended(check)(await store.fail(id, attempt, error, check)),
    failOpen: async (id, error) => ended()(await store.failOpen(id, error)),
    releaseForRetry: async (id, attempt, error) => retried(await store.releaseForRetry(id, attempt, error)),
  };
}

/** The dead-letter settler's port, counted the same way: a job it fails is a failed job. */
export function meteredFailer<S extends OpenJobFailer>(
  store: S,
  metrics: JobMetrics,
  onRow: (job: JobRow) => void = () => {},
): S {
  const failOpen: OpenJobFailer["failOpen"] = async (id, error) => {
    const job = await store.failOpen(id, error);
    onRow(job);
    recordEnded(metrics, job);
    return job;
  };
  // Every other method of the store (the dead-letter settler's cancel marker) passes through.
  return new Proxy(store, {
    get: (target, key, receiver) => (key === "failOpen" ? failOpen : Reflect.get(target, key, receiver)),
  });
}
