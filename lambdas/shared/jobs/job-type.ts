import type * as z from "zod";
import type { JobError, Progress } from "../domain/job.js";

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

/** What a submit/check job keeps between checks: small JSON (an external id, URLs), never shown to callers. */
export type JobState = Record<string, unknown>;

/**
 * `state`: the external work is under way, check it later (after `checkAfterSeconds`, default the
 * type's `pollAfterSeconds`). `result`: it finished at once.
 */
export type SubmitOutcome =
  | { readonly state: JobState; readonly checkAfterSeconds?: number }
  | { readonly result: unknown };

/** What one check of the external work found. */
export type CheckOutcome =
  | { readonly done: unknown }
  | { readonly failed: JobError }
  | {
      readonly pending: {
        /** Replaces the stored state when given. */
        readonly state?: JobState;
        readonly progress?: Progress;
        /** ISO 8601: when the external work is expected to end, if known. */
        readonly estimatedCompletion?: string;
        /** When to check again. */
        readonly checkAfterSeconds: number;
      };
    };

/** What every job type declares, whichever shape it has. */
interface JobTypeBase<Schema extends z.ZodObject> {
  /** Becomes the tool name `start_<name>`. */
  readonly name: string;
  readonly title: string;
  /** What the API does, for the model; the tool adds the async contract. */
  readonly description: string;
  readonly input: Schema;
  /** Deadline of one run (or of one submit, check or cancel call). */
  readonly timeoutMs: number;
  /** Runs that may fail before the job fails; checks that succeed do not count. */
  readonly maxAttempts: number;
  /** What the poll tool suggests between polls. */
  readonly pollAfterSeconds: number;
}

/** One call inside one worker invocation: right for calls of seconds to a few minutes. */
export interface RunJobType<Schema extends z.ZodObject = z.ZodObject> extends JobTypeBase<Schema> {
  run(input: z.infer<Schema>, context: RunContext): Promise<unknown>;
}

/**
 * An external API with its own job handle: submit once, then check back later. Nothing runs
 * between checks, so a job may last hours (up to `maxDurationSeconds`, bounded by the job's TTL).
 */
export interface SubmitCheckJobType<Schema extends z.ZodObject = z.ZodObject> extends JobTypeBase<Schema> {
  /** Past this many seconds after the submit the job fails with `deadline_exceeded`. */
  readonly maxDurationSeconds: number;
  submit(input: z.infer<Schema>, context: RunContext): Promise<SubmitOutcome>;
  check(state: JobState, context: RunContext): Promise<CheckOutcome>;
  /** Asks the external system to stop (on cancel_job or past the deadline); called at most once. */
  cancel?(state: JobState, context: RunContext): Promise<void>;
}

/** One slow integration: adding one means adding one such file and listing it in the registry. */
export type JobType<Schema extends z.ZodObject = z.ZodObject> =
  | RunJobType<Schema>
  | SubmitCheckJobType<Schema>;

/** A job type with its shape named: what the worker dispatches on, one case a shape. */
export type ShapedJobType =
  | { readonly shape: "run"; readonly jobType: RunJobType }
  | { readonly shape: "submit-check"; readonly jobType: SubmitCheckJobType };

export function shapeOf(jobType: JobType): ShapedJobType {
  return isSubmitCheck(jobType) ? { shape: "submit-check", jobType } : { shape: "run", jobType };
}

export function isSubmitCheck<Schema extends z.ZodObject>(
  jobType: JobType<Schema>,
): jobType is SubmitCheckJobType<Schema> {
  return "submit" in jobType;
}

export function defineJobType<Schema extends z.ZodObject>(jobType: RunJobType<Schema>): RunJobType<Schema>;
export function defineJobType<Schema extends z.ZodObject>(
  jobType: SubmitCheckJobType<Schema>,
): SubmitCheckJobType<Schema>;
export function defineJobType<Schema extends z.ZodObject>(jobType: JobType<Schema>): JobType<Schema> {
  return jobType;
}
