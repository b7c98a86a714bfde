import { expect } from "vitest";
import type { LocalStack } from "../../local/local-stack.js";
import { countItems, countMessages } from "./local-aws.js";

/** Items in the job table, and messages visible, in flight or delayed on the job queue. */
export async function rowsAndMessages(stack: LocalStack): Promise<{ rows: number; messages: number }> {
  return {
    rows: await countItems(stack.clients.dynamo, stack.resources.tableName),
    messages: await countMessages(stack.clients.sqs, stack.resources.queueUrl),
  };
}

/** Waits until the worker has taken every message, so that counts taken next are stable. */
export async function queueDrained(stack: LocalStack): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await countMessages(stack.clients.sqs, stack.resources.queueUrl)) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the worker did not drain the queue");
}

/** Sends a request and expects it to leave no row and no message behind. */
export async function expectNothingCreated<T>(stack: LocalStack, send: () => Promise<T>): Promise<T> {
  await queueDrained(stack);
  const before = await rowsAndMessages(stack);
  const answer = await send();
  if (answer instanceof Response) await answer.clone().text();
  expect(await rowsAndMessages(stack)).toEqual(before);
  return answer;
}
