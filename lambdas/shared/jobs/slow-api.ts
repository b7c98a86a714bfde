import * as z from "zod";
import { delaySeconds, query, simulateCall } from "./common.js";
import { defineJobType } from "./job-type.js";

export const slowApi = defineJobType({
  name: "slow_api",
  title: "Slow API",
  description: "Asks a slow external API (about 15 seconds by default) and returns its answer.",
  input: z.object({ query, delaySeconds: delaySeconds(15) }),
  timeoutMs: 660_000,
  maxAttempts: 3,
  pollAfterSeconds: 5,
  async run(input, context) {
    // A progress total must be positive: a row holding total 0 would no longer parse.
    await context.progress({
      current: 0,
      ...(input.delaySeconds > 0 ? { total: input.delaySeconds } : {}),
      message: "Calling the slow API",
    });
    await simulateCall(input.delaySeconds, context, (elapsed) => `Waited ${elapsed} s`);
    return { answer: `Slow result for: ${input.query}` };
  },
});
