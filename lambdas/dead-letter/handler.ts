import { createDeadLetterHandler } from "../shared/handlers/dead-letter.js";
import { JOB_TYPES } from "../shared/jobs/registry.js";

export const handler = createDeadLetterHandler({ jobTypes: JOB_TYPES });
