import * as z from "zod";
import { JobStatusSchema, JobViewSchema } from "../domain/job.js";
import type { JobType } from "../jobs/job-type.js";

export const MAX_WAIT_SECONDS = 25;

export const waitSeconds = z
  .number()
  .int()
  .min(0)
  .max(MAX_WAIT_SECONDS)
  .default(0)
  .describe(
    `Wait up to this many seconds (0 to ${MAX_WAIT_SECONDS}) for the job to end before answering; saves polling turns`,
  );

export const jobId = z
  .uuid({ message: "jobId must be the jobId a start_* tool returned (a UUID)" })
  .describe("The jobId a start_* tool returned");

export const idempotencyKey = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:@-]+$/, { message: "idempotencyKey may hold letters, digits and _ . : @ - only" })
  .optional()
  .describe(
    "Optional. Repeating a start with the same key and input returns the same job instead of a new one",
  );

export const callbackUrl = z
  .url({ message: "callbackUrl must be an absolute URL" })
  .max(2_048)
  .optional()
  .describe(
    "Optional. An https URL the server POSTs one signed event to when the job ends (Standard Webhooks); its origin must be one the operator allows",
  );

/** The arguments every start_* tool adds to its job type's own input. */
export const StartControls = z.object({ idempotencyKey, waitSeconds, callbackUrl });
export type StartControls = z.infer<typeof StartControls>;

export const GetJobInput = z.object({ jobId, waitSeconds });
export const CancelJobInput = z.object({ jobId });
export const ListJobsInput = z.object({
  status: JobStatusSchema.optional().describe("Only jobs with this status"),
  limit: z.number().int().min(1).max(100).default(20).describe("Jobs per page (1 to 100, default 20)"),
  cursor: z.string().min(1).max(2_048).optional().describe("The nextCursor of the previous page"),
});

/** A job as the tools show it: start_*, get_job and cancel_job all answer with this. */
export const JobOutput = JobViewSchema;
/** A list entry: no result, and none of the ways to read one (get_job and read_job_result give those). */
export const JobSummary = JobViewSchema.omit({
  result: true,
  resultSha256: true,
  resultUrl: true,
  resultUrlExpiresAt: true,
  resultHint: true,
});
export const ListJobsOutput = z.object({
  jobs: z.array(JobSummary),
  nextCursor: z.string().optional().describe("Pass as cursor to get the next page; absent on the last page"),
});

/** Largest page read_job_result returns, in bytes of the result's JSON text. */
export const MAX_RESULT_PAGE_BYTES = 16_000;

export const ReadJobResultInput = z.object({
  jobId,
  offset: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("Byte offset to read from: 0 for the start, then the nextOffset of the previous answer"),
  maxBytes: z
    .number()
    .int()
    .min(1)
    .max(MAX_RESULT_PAGE_BYTES)
    .default(MAX_RESULT_PAGE_BYTES)
    .describe(`Bytes to return at most (1 to ${MAX_RESULT_PAGE_BYTES}, default ${MAX_RESULT_PAGE_BYTES})`),
});

export const ReadJobResultOutput = z.object({
  jobId: z.uuid(),
  offset: z.number().int().nonnegative(),
  nextOffset: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe("Pass as offset to read on; absent when this page ends the result"),
  totalBytes: z.number().int().nonnegative().describe("Size of the whole result's JSON text in UTF-8 bytes"),
  text: z.string().describe("This page of the result's JSON text, cut on a character boundary"),
  resultUrl: JobViewSchema.shape.resultUrl,
  resultUrlExpiresAt: JobViewSchema.shape.resultUrlExpiresAt,
});
/**
 * The `_meta` key of a start's error result that names the job id the start tried when its row
 * could not be recorded in time: the job may still exist (get_job on that id tells).
 */
export const UNRECORDED_JOB_ID_META_KEY = "mcp-async-jobs/unrecordedJobId";

/** Each job type's start input, built once per job type object. */
const startInputs = new WeakMap<JobType, z.ZodObject>();
export function startInput(jobType: JobType): z.ZodObject {
  let schema = startInputs.get(jobType);
  if (schema === undefined) {
    schema = jobType.input.extend(StartControls.shape);
    startInputs.set(jobType, schema);
  }
  return schema;
}
