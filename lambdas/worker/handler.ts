import { createWorkerHandler } from "../shared/handlers/worker.js";
import { JOB_TYPES } from "../shared/jobs/registry.js";

export const handler = createWorkerHandler({ jobTypes: JOB_TYPES });
