import type { z } from "zod";
import type { Progress } from "../domain/job.js";

export interface RunContext {
  /** Use it as the idempotency key towards the external API. */
  readonly jobId: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
  /** Aborted when the deadline passes or the job is cancelled; pass it on to every call. */
  readonly signal: AbortSignal;
  /** Reports progress; it only ever moves forward and is dropped once the job has ended. */
  progress(progress: Progress): Promise<void>;
}

/** One slow integration: adding one means adding one such file and listing it in the registry. */
export interface JobType<Schema extends z.ZodObject = z.ZodObject> {
  /** Becomes the tool name `start_<name>`. */
  readonly name: string;
  readonly title: string;
  /** What the API does, for the model; the tool adds the async contract. */
  readonly description: string;
  readonly input: Schema;
  /** Deadline of one run. */
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** What the poll tool suggests between polls. */
  readonly pollAfterSeconds: number;
  run(input: z.infer<Schema>, context: RunContext): Promise<unknown>;
}

export function defineJobType<Schema extends z.ZodObject>(jobType: JobType<Schema>): JobType<Schema> {
  return jobType;
}
