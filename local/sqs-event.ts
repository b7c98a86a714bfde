import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { SQSMessageAttributes, SQSRecord } from "aws-lambda";

/** A received message as the Lambda SQS event source hands it to a function. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const record: SQSRecord = {
    messageId: required(message.MessageId, "MessageId"),
    receiptHandle: required(message.ReceiptHandle, "ReceiptHandle"),
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: required(attributes.ApproximateReceiveCount, "ApproximateReceiveCount"),
      SentTimestamp: required(attributes.SentTimestamp, "SentTimestamp"),
      SenderId: required(attributes.SenderId, "SenderId"),
      ApproximateFirstReceiveTimestamp: required(
        attributes.ApproximateFirstReceiveTimestamp,
        "ApproximateFirstReceiveTimestamp",
      ),
      ...optional("AWSTraceHeader", attributes.AWSTraceHeader),
      ...optional("SequenceNumber", attributes.SequenceNumber),
      ...optional("MessageGroupId", attributes.MessageGroupId),
      ...optional("MessageDeduplicationId", attributes.MessageDeduplicationId),
      ...optional("DeadLetterQueueSourceArn", attributes.DeadLetterQueueSourceArn),
    },
    messageAttributes: toLambdaAttributes(message.MessageAttributes ?? {}),
    md5OfBody: required(message.MD5OfBody, "MD5OfBody"),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (message.MD5OfMessageAttributes !== undefined)
    record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

// The event carries binary values as base64 and always lists the (reserved) list fields.
function toLambdaAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    result[name] = {
      dataType: value.DataType ?? "String",
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map(toBase64),
      ...optional("stringValue", value.StringValue),
      ...optional("binaryValue", value.BinaryValue === undefined ? undefined : toBase64(value.BinaryValue)),
    };
  }
  return result;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new Error(`ReceiveMessage returned a message without ${name}`);
  return value;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}
