import * as z from "zod";
import { ExternalApiError } from "../domain/errors.js";
import { delaySeconds, query, simulateCall } from "./common.js";
import { defineJobType } from "./job-type.js";

export const failingApi = defineJobType({
  name: "failing_api",
  title: "Failing API",
  description:
    "Asks an external API that is down: after about 7 seconds it answers 424 Failed Dependency, a permanent failure that is not retried.",
  input: z.object({ query, delaySeconds: delaySeconds(7) }),
  timeoutMs: 660_000,
  maxAttempts: 3,
  pollAfterSeconds: 3,
  async run(input, context) {
    await simulateCall(input.delaySeconds, context, () => "Waiting for the external API");
    throw new ExternalApiError(
      "424 Failed Dependency: external service unavailable",
      false,
      "external_api_failed_dependency",
    );
  },
});
