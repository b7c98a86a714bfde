import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import { fakeLambdaContext } from "../../local/lambda-context.js";
import { countItems, type LocalAws, useLocalAws } from "../support/local-aws.js";

type Handler = (
  event: APIGatewayProxyEventV2,
  context: unknown,
) => Promise<APIGatewayProxyStructuredResultV2>;

let aws: LocalAws;
let handler: Handler;

/** The deployed entry point, configured only through its environment, as Lambda runs it. */
beforeAll(async () => {
  aws = await useLocalAws();
  Object.assign(process.env, {
    [ENV.tableName]: aws.resources.tableName,
    [ENV.queueUrl]: aws.resources.queueUrl,
    [ENV.awsEndpointDynamoDb]: aws.endpoints.dynamoEndpoint,
    [ENV.awsEndpointSqs]: aws.endpoints.sqsEndpoint,
    AWS_REGION: aws.endpoints.region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  });
  ({ handler } = (await import("../../lambdas/mcp/handler.js")) as unknown as { handler: Handler });
});

function httpApiEvent(
  body: string,
  options: { base64?: boolean; method?: string } = {},
): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/mcp",
    rawQueryString: "",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    requestContext: {
      accountId: "123456789012",
      apiId: "abc",
      domainName: "abc.lambda-url.us-east-1.on.aws",
      domainPrefix: "abc",
      http: {
        method: options.method ?? "POST",
        path: "/mcp",
        protocol: "HTTP/1.1",
        sourceIp: "1.2.3.4",
        userAgent: "t",
      },
      requestId: "r",
      routeKey: "$default",
      stage: "$default",
      time: "",
      timeEpoch: 0,
    },
    isBase64Encoded: options.base64 === true,
    body: options.base64 ? Buffer.from(body).toString("base64") : body,
  };
}

const context = (): unknown =>
  fakeLambdaContext({ functionName: "mcp", region: "us-east-1", timeoutMs: 60_000 });

describe("lambdas/mcp/handler.ts", () => {
  it("serves tools/list from a Function URL event", async () => {
    const result = await handler(
      httpApiEvent(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" })),
      context(),
    );
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body ?? "{}") as { result: { tools: { name: string }[] } };
    expect(body.result.tools.map((tool) => tool.name)).toContain("start_slow_api");
  });

  it("starts a job from a base64-encoded body and writes its row", async () => {
    const before = await countItems(aws.dynamo, aws.resources.tableName);
    const call = {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "start_slow_api", arguments: { query: "from lambda", delaySeconds: 0 } },
    };
    const result = await handler(httpApiEvent(JSON.stringify(call), { base64: true }), context());
    const body = JSON.parse(result.body ?? "{}") as { result: { structuredContent: { status: string } } };
    expect(body.result.structuredContent.status).toBe("queued");
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(before + 1);
  });

  it("answers a body over the limit with 413 and writes nothing", async () => {
    const before = await countItems(aws.dynamo, aws.resources.tableName);
    const call = {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "start_slow_api", arguments: { query: "x".repeat(1024 * 1024 + 1) } },
    };
    const result = await handler(httpApiEvent(JSON.stringify(call)), context());
    expect(result.statusCode).toBe(413);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(before);
  });

  it("answers GET with 405", async () => {
    const result = await handler(httpApiEvent("", { method: "GET" }), context());
    expect(result.statusCode).toBe(405);
  });
});
