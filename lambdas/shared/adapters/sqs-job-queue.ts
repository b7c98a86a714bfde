import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { JobMessage } from "../domain/job.js";
import type { JobQueue, RetryScheduler } from "../domain/ports.js";

export interface SqsJobQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
}

export class SqsJobQueue implements JobQueue, RetryScheduler {
  private readonly client: SQSClient;
  private readonly queueUrl: string;

  constructor(options: SqsJobQueueOptions) {
    this.client = options.client;
    this.queueUrl = options.queueUrl;
  }

  async send(message: JobMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: asciiJson(message),
        ...(options.delaySeconds
          ? { DelaySeconds: Math.max(0, Math.min(900, Math.round(options.delaySeconds))) }
          : {}),
        MessageAttributes: { jobType: { DataType: "String", StringValue: message.type } },
      }),
    );
  }

  async retryAfter(receiptHandle: string, delaySeconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(delaySeconds))),
      }),
    );
  }
}

/**
 * JSON with every character past ASCII written as a `\uXXXX` escape: the same value to any JSON
 * parser, and a body every SQS implementation accepts (a start message carries the job's input,
 * which may hold any character, emoji included, and some reject characters beyond U+FFFF).
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
