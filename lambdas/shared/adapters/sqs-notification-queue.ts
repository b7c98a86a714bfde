import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryMessage } from "../domain/events.js";
import type { NotificationQueue, NotificationWait } from "../domain/ports.js";

/** SQS's longest visibility timeout: 12 h. */
const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_DELAY_SECONDS = 900;

export interface SqsNotificationQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
}

export class SqsNotificationQueue implements NotificationQueue, NotificationWait {
  constructor(private readonly options: SqsNotificationQueueOptions) {}

  async send(message: DeliveryMessage, delaySeconds: number): Promise<void> {
    await this.options.client.send(
      new SendMessageCommand({
        QueueUrl: this.options.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: clamp(delaySeconds, MAX_DELAY_SECONDS),
      }),
    );
  }

  async waitFor(receiptHandle: string, seconds: number): Promise<void> {
    await this.options.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: clamp(seconds, MAX_VISIBILITY_SECONDS),
      }),
    );
  }
}

function clamp(seconds: number, max: number): number {
  return Math.max(0, Math.min(max, Math.round(seconds)));
}
