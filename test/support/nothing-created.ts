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

/**
 * Waits until nothing is left that could act again: the job queue and the notification queue
 * hold no message (visible, in flight or delayed), on two reads in a row. Once that holds, every
 * job message was acknowledged and every delivery attempt recorded, so counts taken next are final,
 * however late a duplicate would have come. Fails if the queues do not drain in time.
 */
export async function quiescent(stack: LocalStack, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let emptyReads = 0;
  while (emptyReads < 2) {
    const messages =
      (await countMessages(stack.clients.sqs, stack.resources.queueUrl)) +
      (await countMessages(stack.clients.sqs, stack.resources.notificationQueueUrl));
    emptyReads = messages === 0 ? emptyReads + 1 : 0;
    if (emptyReads === 2) return;
    if (Date.now() > deadline) throw new Error(`${messages} messages are still queued after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
