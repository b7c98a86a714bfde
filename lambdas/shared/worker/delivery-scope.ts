import type { JobRow } from "../domain/job.js";
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
 * A message's view of the ports: the store wrapped by `meter` (its outcomes counted), and log
 * lines carrying the job's id, type and, once the row is read, the caller's hash.
 */
function scoped<S, D extends { readonly store: S; readonly log: Log }>(
  deps: D,
  body: string,
  meter: (store: S, onRow: (row: JobRow) => void) => S,
): D {
  const job = jobOf(body);
  const log = job === undefined ? undefined : new JobLog(deps.log, job);
  return {
    ...deps,
    store: meter(deps.store, (row) => log?.learn(row)),
    ...(log !== undefined ? { log } : {}),
  };
}

/** One worker delivery's view of its ports (meteredRunStore). */
export function deliveryScope<D extends { readonly store: JobRunStore; readonly log: Log }>(
  deps: D,
  body: string,
  metrics: JobMetrics = noMetrics,
): D {
  return scoped(deps, body, (store: JobRunStore, onRow) => meteredRunStore(store, metrics, onRow));
}

/** The dead-letter settler's view of one message, scoped the same way (meteredFailer). */
export function deadLetterScope<D extends { readonly store: OpenJobFailer; readonly log: Log }>(
  deps: D,
  body: string,
  metrics: JobMetrics = noMetrics,
): D {
  return scoped(deps, body, (store: D["store"], onRow) => meteredFailer(store, metrics, onRow));
}
