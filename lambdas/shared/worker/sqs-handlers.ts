import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Log } from "../domain/logger.js";
import type { JobStore } from "../domain/ports.js";
import { processDelivery, type WorkerDeps } from "./process-delivery.js";
import { settleDeadLetter } from "./settle-dead-letter.js";

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Reported for a record whose message SQS should deliver again after the delay the worker set. */
export class RetryScheduledError extends Error {
  constructor(readonly jobId: string) {
    super(`Job ${jobId}: retry scheduled`);
    this.name = "RetryScheduledError";
  }
}

function receiveCount(record: SQSRecord): number {
  return Number.parseInt(record.attributes.ApproximateReceiveCount, 10) || 1;
}

/** The worker: each record is one delivery; failed records go back to SQS (partial batch response). */
export function createSqsWorkerHandler(deps: WorkerDeps): SqsBatchHandler {
  return async (event, context) => {
    // One processor per invocation: it keeps per-batch state, and local runs invoke concurrently.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const outcome = await processDelivery(deps, {
          body: record.body,
          receiptHandle: record.receiptHandle,
          receiveCount: receiveCount(record),
          remainingTimeMs: () => context.getRemainingTimeInMillis(),
        });
        if (outcome === "retry") throw new RetryScheduledError(record.messageId);
      },
      processor,
      { context, throwOnFullBatchFailure: false },
    );
  };
}

/** The dead-letter queue's consumer: settles each job whose message SQS gave up on. */
export function createSqsDeadLetterHandler(deps: {
  readonly store: JobStore;
  readonly log: Log;
}): SqsBatchHandler {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      (record: SQSRecord) => settleDeadLetter(deps, record.body, receiveCount(record)),
      processor,
      { context, throwOnFullBatchFailure: false },
    );
  };
}
