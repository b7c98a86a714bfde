import * as z from "zod";
import { ExternalApiError } from "../domain/errors.js";
import { query } from "./common.js";
import { DEFAULT_BATCH_API_CHECK_SECONDS } from "./demo-contract.js";
import { defineJobType, type SubmitCheckJobType } from "./job-type.js";

const input = z.object({
  query,
  durationSeconds: z
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(120)
    .describe("How long the simulated batch runs, in seconds (1 to 86 400, default 120)"),
});

/**
 * What the simulated batch service would know about a batch. It lives in the job's stored state,
 * never in the worker's memory, so a batch outlives any worker invocation or process: its progress
 * is derived from the submit time.
 */
const BatchState = z.object({
  batchId: z.string(),
  query: z.string(),
  submittedAt: z.number().int().nonnegative(),
  durationSeconds: z.number().int().positive(),
});

export interface BatchApiOptions {
  /** Seconds between two checks (BATCH_API_CHECK_SECONDS). */
  readonly checkSeconds: number;
}

/** A demo of the submit/check shape: an external batch service with its own job handle. */
export function createBatchApi(options: BatchApiOptions): SubmitCheckJobType<typeof input> {
  const { checkSeconds } = options;
  return defineJobType({
    name: "batch_api",
    title: "Batch API",
    description:
      "Submits a query to an external batch service (about 2 minutes by default, up to 24 hours) and returns its answer; progress shows the percent done.",
    input,
    timeoutMs: 10_000,
    maxAttempts: 5,
    pollAfterSeconds: checkSeconds,
    // The longest batch plus an hour; the job's TTL bounds it too.
    maxDurationSeconds: 86_400 + 3_600,
    async submit(request, context) {
      await context.progress({ current: 0, total: 100, message: "Batch submitted" });
      return {
        state: {
          batchId: `batch-${context.jobId}`,
          query: request.query,
          submittedAt: Date.now(),
          durationSeconds: request.durationSeconds,
        },
        checkAfterSeconds: Math.min(checkSeconds, request.durationSeconds),
      };
    },
    async check(stored) {
      const parsed = BatchState.safeParse(stored);
      if (!parsed.success)
        throw new ExternalApiError("404 Not Found: unknown batch", false, "batch_not_found");
      const batch = parsed.data;
      const endsAt = batch.submittedAt + batch.durationSeconds * 1000;
      const leftMs = endsAt - Date.now();
      if (leftMs <= 0) return { done: { answer: `Batch result for: ${batch.query}` } };
      const percent = Math.min(
        99,
        Math.floor((100 * (batch.durationSeconds * 1000 - leftMs)) / (batch.durationSeconds * 1000)),
      );
      return {
        pending: {
          progress: { current: percent, total: 100, message: `Batch ${percent}% done` },
          estimatedCompletion: new Date(endsAt).toISOString(),
          checkAfterSeconds: Math.min(checkSeconds, Math.ceil(leftMs / 1000)),
        },
      };
    },
    async cancel() {
      // The simulated service holds nothing to stop; a real one would get a DELETE here.
    },
  });
}

export const batchApi = createBatchApi({ checkSeconds: DEFAULT_BATCH_API_CHECK_SECONDS });
