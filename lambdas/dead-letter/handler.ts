import { createDeadLetterHandler } from "../shared/handlers.js";
import { JOB_TYPES } from "../shared/jobs/registry.js";

export const handler = createDeadLetterHandler({ jobTypes: JOB_TYPES });
