import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export interface FakeContextOptions {
  readonly functionName: string;
  readonly region: string;
  /** The function timeout: getRemainingTimeInMillis counts down from it. */
  readonly timeoutMs: number;
}

/** The Lambda context of one local invocation, with a remaining time that really runs down. */
export function fakeLambdaContext(options: FakeContextOptions): Context {
  const deadline = Date.now() + options.timeoutMs;
  const { functionName, region } = options;
  const unsupported = (): never => {
    throw new Error("The callback-style context methods are not supported; return a promise instead.");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
