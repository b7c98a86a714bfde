import { z } from "zod";
import { JobStatusSchema, JobViewSchema } from "../domain/job.js";

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

/** The arguments every start_* tool adds to its job type's own input. */
export const StartControls = z.object({ idempotencyKey, waitSeconds });
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
export const JobSummary = JobViewSchema.omit({ result: true });
export const ListJobsOutput = z.object({
  jobs: z.array(JobSummary),
  nextCursor: z.string().optional().describe("Pass as cursor to get the next page; absent on the last page"),
});
