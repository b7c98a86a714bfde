import * as z from "zod";
import { delaySeconds, query, simulateCall } from "./common.js";
import { defineJobType } from "./job-type.js";

export const exportApi = defineJobType({
  name: "export_api",
  title: "Export API",
  description:
    "Asks an export API for `rows` rows (about 2 seconds by default) and returns them all: a large result, read in pages with read_job_result when it is too big to show inline.",
  input: z.object({
    query,
    rows: z
      .number()
      .int()
      .min(1)
      .max(200_000)
      .default(1_000)
      .describe("How many rows the export holds (1 to 200 000, default 1 000)"),
    delaySeconds: delaySeconds(2),
  }),
  timeoutMs: 660_000,
  maxAttempts: 3,
  pollAfterSeconds: 2,
  async run(input, context) {
    await simulateCall(input.delaySeconds, context, (elapsed) => `Exporting (${elapsed} s)`);
    // Exactly this shape, so anyone can rebuild the expected JSON and compare a reassembled result.
    return {
      rows: Array.from({ length: input.rows }, (_, index) => ({
        n: index + 1,
        text: `${input.query} #${index + 1}`,
      })),
    };
  },
});
