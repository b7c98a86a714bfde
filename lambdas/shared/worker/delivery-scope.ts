import type { Log } from "../domain/logger.js";
import { type JobMetrics, noMetrics } from "../domain/metrics.js";
import type { JobRunStore, OpenJobFailer } from "../domain/ports.js";
import { JobLog } from "../usecases/job-log.js";
import { meteredFailer, meteredRunStore } from "./metered-run-store.js";
import { parseJobMessage } from "./worker-deps.js";

/** The job a message names, or undefined for a malformed one (the core reports those). */
function jobOf(body: string): { readonly jobId: string; readonly type: string } | undefined {
  try {
    return parseJobMessage(body);
  } catch {
    return undefined;
  }
}

/**
 * One delivery's view of the worker's ports: its outcomes counted (meteredRunStore), and its log
 * lines carrying the job's id, type and, once the row is read, the caller's hash.
 */
export function deliveryScope<D extends { readonly store: JobRunStore; readonly log: Log }>(
  deps: D,
  body: string,
  metrics: JobMetrics = noMetrics,
): D {
  const job = jobOf(body);
  const log = job === undefined ? undefined : new JobLog(deps.log, job);
  return {
    ...deps,
    store: meteredRunStore(deps.store, metrics, (row) => log?.learn(row)),
    ...(log !== undefined ? { log } : {}),
  };
}

/** The dead-letter settler's view of one message, scoped the same way. */
export function deadLetterScope<D extends { readonly store: OpenJobFailer; readonly log: Log }>(
  deps: D,
  body: string,
  metrics: JobMetrics = noMetrics,
): D {
  const job = jobOf(body);
  const log = job === undefined ? undefined : new JobLog(deps.log, job);
  return {
    ...deps,
    store: meteredFailer(deps.store, metrics, (row) => log?.learn(row)),
    ...(log !== undefined ? { log } : {}),
  };
}
