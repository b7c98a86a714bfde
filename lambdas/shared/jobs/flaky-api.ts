import * as z from "zod";
import { ExternalApiError } from "../domain/errors.js";
import { delaySeconds, query, simulateCall } from "./common.js";
import { defineJobType } from "./job-type.js";

export const flakyApi = defineJobType({
  name: "flaky_api",
  title: "Flaky API",
  description:
    "Asks an external API that fails transiently (503) `failTimes` times before it answers; each failure is retried with backoff.",
  input: z.object({
    query,
    delaySeconds: delaySeconds(0),
    failTimes: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe("How many runs fail with a transient error before one succeeds (0 to 10, default 2)"),
  }),
  timeoutMs: 660_000,
  maxAttempts: 5,
  pollAfterSeconds: 3,
  async run(input, context) {
    await simulateCall(input.delaySeconds, context, () => `Attempt ${context.attempt}`);
    if (context.attempt <= input.failTimes) {
      throw new ExternalApiError(
        `503 Service Unavailable (attempt ${context.attempt} of ${input.failTimes + 1} needed)`,
        true,
      );
    }
    return { answer: `Flaky result for: ${input.query}`, attempts: context.attempt };
  },
});
