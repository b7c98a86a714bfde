import * as z from "zod";
import { query } from "./common.js";
import { defineJobType } from "./job-type.js";

export const hungApi = defineJobType({
  name: "hung_api",
  title: "Hung API",
  description:
    "Asks an external API that never answers: each run times out after about 10 seconds and is retried, and the job fails once its attempts are used.",
  input: z.object({ query }),
  timeoutMs: 10_000,
  maxAttempts: 3,
  pollAfterSeconds: 10,
  async run(_input, context) {
    // No timer: Node fires a setTimeout longer than about 24.8 days after 1 ms instead.
    await new Promise<never>((_, reject) => {
      const { signal } = context;
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    return undefined;
  },
});
