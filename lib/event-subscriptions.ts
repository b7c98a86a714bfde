import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Grant } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import {
  DEFAULT_SUBSCRIPTIONS_PER_CALLER,
  SUBSCRIPTION_TABLE,
} from "../lambdas/shared/config/subscription-table.js";

/** The MCP function subscribes, refreshes, unsubscribes and counts a caller's subscriptions. */
export const SUBSCRIBER_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
] as const;

/** The functions that end jobs find the subscriptions an ended job notifies: one Query per job. */
export const LISTER_TABLE_ACTIONS = ["dynamodb:Query"] as const;

/** The delivery function reads a subscription (its URL and secret) and ends one that answered 410. */
export const DELIVERER_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:DeleteItem"] as const;

/** Reading items of a table encrypted with a customer-managed key. */
const KEY_READER_ACTIONS = ["kms:Decrypt", "kms:DescribeKey"] as const;
/** Writing them too. */
const KEY_WRITER_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"] as const;

export interface EventSubscriptionTableProps {
  /** What happens to the table and its key on `cdk destroy`. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Continuous backups with point-in-time restore, like the job table. @default true */
  readonly pointInTimeRecovery?: boolean;
  /** Subscriptions one caller may hold at once. @default DEFAULT_SUBSCRIPTIONS_PER_CALLER (20) */
  readonly subscriptionsPerCaller?: number;
}

/**
 * MCP Events subscriptions: a table keyed as `SUBSCRIPTION_TABLE` says (one partition per caller),
 * expiring through TTL, encrypted with a customer-managed KMS key of its own (rotated yearly),
 * since every item holds a subscriber's signing secret. Each `bind*` pairs a grant with the
 * variable naming the table.
 */
export class EventSubscriptionTable extends Construct {
  public readonly table: Table;
  /** The table's customer-managed key. */
  public readonly key: Key;
  private readonly subscriptionsPerCaller: number;

  constructor(scope: Construct, id: string, props: EventSubscriptionTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.subscriptionsPerCaller = props.subscriptionsPerCaller ?? DEFAULT_SUBSCRIPTIONS_PER_CALLER;
    if (!Number.isInteger(this.subscriptionsPerCaller) || this.subscriptionsPerCaller < 1) {
      throw new Error(
        `subscriptionsPerCaller must be a whole number of at least 1; got ${this.subscriptionsPerCaller}.`,
      );
    }
    this.key = new Key(this, "Key", {
      description: "Encrypts the MCP Events subscriptions (they hold the subscribers' signing secrets)",
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new Table(this, "Table", {
      partitionKey: { name: SUBSCRIPTION_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: SUBSCRIPTION_TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: SUBSCRIPTION_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      removalPolicy,
    });
  }

  /** The MCP function: events/subscribe, events/unsubscribe, and the per-caller limit it enforces. */
  public bindSubscriber(fn: LambdaFunction): void {
    this.grant(fn, SUBSCRIBER_TABLE_ACTIONS);
    this.grantKey(fn, KEY_WRITER_ACTIONS);
    fn.addEnvironment(ENV.eventSubscriptionLimit, String(this.subscriptionsPerCaller));
  }

  /** A function that ends jobs (the worker, the dead-letter handler): reads the subscriptions an ended job notifies. */
  public bindLister(fn: LambdaFunction): void {
    this.grant(fn, LISTER_TABLE_ACTIONS);
    this.grantKey(fn, KEY_READER_ACTIONS);
  }

  /** The delivery function: reads a subscription at send time and deletes one whose receiver answered 410. */
  public bindDeliverer(fn: LambdaFunction): void {
    this.grant(fn, DELIVERER_TABLE_ACTIONS);
    this.grantKey(fn, KEY_READER_ACTIONS);
  }

  /** Named actions on this key only: no `kms:*` patterns (the CDK's own grants use them). */
  private grantKey(fn: LambdaFunction, actions: readonly string[]): void {
    Grant.addToPrincipal({ grantee: fn, actions: [...actions], resourceArns: [this.key.keyArn] });
  }

  private grant(fn: LambdaFunction, actions: readonly string[]): void {
    Grant.addToPrincipal({ grantee: fn, actions: [...actions], resourceArns: [this.table.tableArn] });
    fn.addEnvironment(ENV.eventSubscriptionTableName, this.table.tableName);
  }
}
