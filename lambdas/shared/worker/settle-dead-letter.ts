import { JobStateConflictError } from "../domain/errors.js";
import type { Log } from "../domain/logger.js";
import type { OpenJobFailer } from "../domain/ports.js";
import { MalformedMessageError, parseJobMessage } from "./process-delivery.js";

/**
 * A message in the dead-letter queue has used all its deliveries. Its job must not stay open:
 * fail it unless it already ended.
 */
export async function settleDeadLetter(
  deps: { readonly store: OpenJobFailer; readonly log: Log },
  body: string,
  receiveCount: number,
): Promise<void> {
  let jobId: string;
  try {
    jobId = parseJobMessage(body).jobId;
  } catch (error) {
    if (!(error instanceof MalformedMessageError)) throw error;
    deps.log.warn("Dropping a malformed dead letter: it names no job", { error: error.message });
    return;
  }
  try {
    await deps.store.failOpen(jobId, {
      code: "delivery_exhausted",
      message: `The job could not be run to an outcome: its message was delivered ${receiveCount} times.`,
      retryable: true,
    });
    deps.log.warn("Dead letter: job marked failed", { jobId });
  } catch (error) {
    if (!(error instanceof JobStateConflictError)) throw error;
    deps.log.info("Dead letter for a job that already ended, expired or is unknown", { jobId });
  }
}
