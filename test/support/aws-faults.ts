import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/**
 * The first UpdateItem the client sends reaches the table, but its answer is lost: the try fails as
 * a timeout (a transient error), so the SDK tries the same call again. What a store that stalls past
 * the client's timeout and then applies the queued write does. Returns how many answers were lost.
 */
export function loseFirstUpdateAnswer(client: DynamoDBClient): () => number {
  let lost = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const answer = await next(args);
      if (context.commandName === "UpdateItemCommand" && lost === 0) {
        lost++;
        throw Object.assign(new Error("Injected: the answer to a write that landed was lost"), {
          name: "TimeoutError",
        });
      }
      return answer;
    },
    // Inside the SDK's retry step, so its retry strategy sees the failure and tries again.
    { step: "finalizeRequest", priority: "low", name: "loseFirstUpdateAnswer" },
  );
  return () => lost;
}
