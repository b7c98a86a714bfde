import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Grant } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { RESULT_KEY_PREFIX } from "../lambdas/shared/domain/results.js";

/** The worker writes a whole result object; nothing else (no tagging, ACLs, deletes or reads). */
export const RESULT_WRITER_ACTIONS = ["s3:PutObject"] as const;
/** The MCP function reads byte ranges of a result and signs links to it; it never writes or lists. */
export const RESULT_READER_ACTIONS = ["s3:GetObject"] as const;

export interface ResultBucketProps {
  /**
   * How long a job id works. Objects are deleted one day after that (S3 lifecycle rules count whole
   * days, and a job's result is unreadable once its row expires anyway).
   */
  readonly jobTtl: Duration;
  /**
   * What happens to the bucket when the stack is deleted. `DESTROY` also empties it first.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Results too large for the job row: private, SSE-S3 encrypted, TLS only, unversioned, and emptied
 * by a lifecycle rule one day after the job TTL. Objects live under `RESULT_KEY_PREFIX` only, and the
 * grants name that prefix.
 */
export class ResultBucket extends Construct {
  public readonly bucket: Bucket;
  /** Days after which a result object is deleted: the job TTL rounded up, plus one. */
  public readonly expirationDays: number;

  constructor(scope: Construct, id: string, props: ResultBucketProps) {
    super(scope, id);
    this.expirationDays = Math.ceil(props.jobTtl.toSeconds() / 86_400) + 1;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: false,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: "ExpireResultsAfterJobTtl",
          prefix: RESULT_KEY_PREFIX,
          expiration: Duration.days(this.expirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "Server access logs would need a second bucket and record every ranged read of a result; each " +
        "object is written once by the worker and read through the MCP function, whose own logs and " +
        "the job row (owner, jobId, timestamps) already say who read which result.",
    });
  }

  /** Lets `fn` write results (the worker), and tells it the bucket name. */
  public bindWriter(fn: LambdaFunction): void {
    this.grant(fn, RESULT_WRITER_ACTIONS, "write a job's result object");
  }

  /** Lets `fn` read results and sign links to them (the MCP function), and tells it the bucket name. */
  public bindReader(fn: LambdaFunction): void {
    this.grant(fn, RESULT_READER_ACTIONS, "read a job's result object");
  }

  private grant(fn: LambdaFunction, actions: readonly string[], purpose: string): void {
    const objects = this.bucket.arnForObjects(`${RESULT_KEY_PREFIX}*`);
    Grant.addToPrincipal({ grantee: fn, actions: [...actions], resourceArns: [objects] });
    fn.addEnvironment(ENV.resultBucketName, this.bucket.bucketName);
    // The finding is on the role's policy, which lives beside the function, not under it.
    Validations.of(fn.role ?? fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/${RESULT_KEY_PREFIX}*]`,
      reason:
        `Each job's result is its own object (${RESULT_KEY_PREFIX}<jobId>.json), created at run time, so ` +
        `the grant to ${purpose} names the results prefix rather than single objects; the action is only ${actions.join(", ")}.`,
    });
  }
}
