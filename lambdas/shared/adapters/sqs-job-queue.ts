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
        MessageBody: JSON.stringify(message),
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
