import { JobStateConflictError } from "../domain/errors.js";
import type { JobError, JobRow } from "../domain/job.js";
import { placeResult, RESULT_CONTENT_TYPE, resultKey } from "../domain/results.js";
import { sha256 } from "../usecases/canonical-json.js";
import type { WorkerDeps } from "./worker-deps.js";

/** `moved_on`: the job was cancelled or taken over meanwhile, and that run or the cancel decides it now. */
export type Completion =
  | { readonly kind: "completed"; readonly row: JobRow }
  | { readonly kind: "moved_on" }
  | { readonly kind: "unstored"; readonly error: JobError };

/**
 * Completes the run that owns `job` with `result`: inline in the row when small, in the result
 * store with a reference in the row when large, or not at all past the maximum. Every way a job
 * reaches `completed` goes through here, so the size rules hold for each job shape alike.
 *
 * `unstored` carries the error the run must be recorded as failed with when the result could not be
 * kept (too large: permanent; the store failed: retryable, so the usual backoff applies). The row
 * only turns `completed` after the object is written, so a completed job never lacks its result.
 * With `check`, only that check of a submit/check job may write.
 */
export async function completeJob(
  deps: Pick<WorkerDeps, "store" | "results" | "settings" | "log">,
  job: JobRow,
  result: unknown,
  check?: number,
): Promise<Completion> {
  const { store, results, settings, log } = deps;
  const resultJson = JSON.stringify(result ?? null);
  const bytes = Buffer.byteLength(resultJson, "utf8");
  const placement = placeResult(bytes, {
    inlineBytes: settings.resultInlineBytes,
    maxBytes: settings.resultMaxBytes,
    storeAvailable: results !== undefined,
  });
  const context = { jobId: job.id, attempt: job.attempt, resultBytes: bytes };

  if (placement.kind === "too_large") {
    const limit = results === undefined ? settings.resultInlineBytes : settings.resultMaxBytes;
    return {
      kind: "unstored",
      error: {
        code: "result_too_large",
        message: `The result is ${bytes} bytes; results are limited to ${limit} bytes.`,
        retryable: false,
      },
    };
  }

  try {
    if (placement.kind === "inline" || results === undefined) {
      return { kind: "completed", row: await store.complete(job.id, job.attempt, resultJson, check) };
    }
    const key = resultKey(job.id);
    try {
      await results.put(key, resultJson, RESULT_CONTENT_TYPE);
    } catch (error) {
      log.warn("Could not store the result; the run will be retried", { ...context, error });
      return {
        kind: "unstored",
        error: {
          code: "result_store_unavailable",
          message: "The result could not be stored (the result store is unavailable).",
          retryable: true,
        },
      };
    }
    const row = await store.completeWithResultRef(
      job.id,
      job.attempt,
      {
        key,
        bytes,
        sha256: sha256(resultJson),
        contentType: RESULT_CONTENT_TYPE,
      },
      check,
    );
    log.info("Result stored in the result store", context);
    return { kind: "completed", row };
  } catch (error) {
    if (!(error instanceof JobStateConflictError)) throw error;
    // Cancelled or taken over meanwhile: that run or the cancel decides the job now.
    log.info("Could not complete: the job moved on without this run", context);
    return { kind: "moved_on" };
  }
}
