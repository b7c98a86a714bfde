import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Grant } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { JOB_TABLE } from "../lambdas/shared/config/table-schema.js";

/**
 * What the MCP function does to the table: create a job (a conditional put, or a transaction of two
 * puts with an idempotency key), read it, cancel it and count start attempts (updates), list a caller's
 * jobs and count active ones (queries on the owner indexes). No Scan, no DeleteItem, no BatchWriteItem:
 * rows leave through TTL only.
 */
export const API_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:Query",
] as const;

/** What the worker and the dead-letter handler do to the table: read a job and move it on conditionally. */
export const UPDATER_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:UpdateItem"] as const;

export interface JobTableProps {
  /**
   * What happens to the table (and its jobs) when the stack is deleted. Use `RemovalPolicy.DESTROY`
   * for a development stack that `cdk destroy` should remove completely.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Continuous backups with point-in-time restore for the last 35 days.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

/**
 * The job table: one row per job (plus short-lived idempotency and rate-limit rows), keyed and indexed
 * exactly as `JOB_TABLE` says, with rows expiring through TTL on the attribute the code writes.
 */
export class JobTable extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: JobTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: JOB_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: JOB_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      // The AWS managed key (aws/dynamodb): encryption at rest visible in the template, no key to run.
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // list_jobs reads whole job rows from this index, newest first.
    this.table.addGlobalSecondaryIndex({
      indexName: JOB_TABLE.ownerIndex.name,
      partitionKey: { name: JOB_TABLE.ownerIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: JOB_TABLE.ownerIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    // Sparse, and only ever counted (Select COUNT, leaving out expired rows): keys and expiry suffice.
    this.table.addGlobalSecondaryIndex({
      indexName: JOB_TABLE.activeIndex.name,
      partitionKey: { name: JOB_TABLE.activeIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: JOB_TABLE.activeIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...JOB_TABLE.activeIndex.projectedAttributes],
    });
  }

  /**
   * Lets `fn` create, read, update and query jobs (the MCP function), and tells it the table name.
   * The grant names the table and its two indexes exactly (no `index/*`).
   */
  public bindApi(fn: LambdaFunction): void {
    Grant.addToPrincipal({
      grantee: fn,
      actions: [...API_TABLE_ACTIONS],
      resourceArns: [this.table.tableArn, ...this.indexArns()],
    });
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }

  /**
   * Lets `fn` read and update jobs (the worker, the dead-letter handler), and tells it the table name.
   * They never query, so the grant covers the table only, not its indexes.
   */
  public bindUpdater(fn: LambdaFunction): void {
    Grant.addToPrincipal({
      grantee: fn,
      actions: [...UPDATER_TABLE_ACTIONS],
      resourceArns: [this.table.tableArn],
    });
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }

  private indexArns(): string[] {
    return [JOB_TABLE.ownerIndex.name, JOB_TABLE.activeIndex.name].map(
      (indexName) => `${this.table.tableArn}/index/${indexName}`,
    );
  }
}
