import * as z from "zod";
import { JobViewSchema } from "../lambdas/shared/domain/job.js";

/**
 * A job as the tools answer it, read loosely: a newer server may add fields (the CLI prints them
 * as they come), and `estimatedCompletion` (ISO 8601) is shown as an ETA when a job gives one.
 */
export const CliJobSchema = z.looseObject({
  ...JobViewSchema.shape,
  estimatedCompletion: z.string().optional(),
});
export type CliJob = z.infer<typeof CliJobSchema>;

export const JobListSchema = z.looseObject({
  jobs: z.array(CliJobSchema),
  nextCursor: z.string().optional(),
});
export type JobList = z.infer<typeof JobListSchema>;
