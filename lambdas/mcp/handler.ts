import { createMcpHandler } from "../shared/handlers/mcp.js";
import { JOB_TYPES } from "../shared/jobs/registry.js";

export const handler = await createMcpHandler({ jobTypes: JOB_TYPES });
