import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AWS_CALL_POLICIES, awsClientOptions } from "../../lambdas/shared/adapters/aws-call-policy.js";

// A server that accepts connections and never answers: a stalled DynamoDB.
const sockets = new Set<Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on("close", () => sockets.delete(socket));
});
let endpoint = "";

beforeAll(async () => {
  silent.listen(0, "127.0.0.1");
  await once(silent, "listening");
  const address = silent.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  silent.close();
  await once(silent, "close");
});

describe("AWS call policy", () => {
  it("gives every caller a bounded total time that fits its budget", () => {
    for (const [caller, policy] of Object.entries(AWS_CALL_POLICIES)) {
      const worstMs = policy.maxAttempts * (policy.connectionTimeoutMs + policy.requestTimeoutMs);
      expect(worstMs, caller).toBeLessThanOrEqual(caller === "mcp" ? 6_000 : 60_000);
    }
  });

  it("makes a call to a stalled service fail instead of waiting for minutes", async () => {
    const client = new DynamoDBClient({
      ...awsClientOptions("mcp"),
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const started = Date.now();
    try {
      const error = await client.send(new GetItemCommand({ TableName: "t", Key: { id: { S: "x" } } })).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toMatch(/Timeout/i);
      // Generous: the policy allows about 4 s; a loaded machine may add some.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      client.destroy();
    }
  });
});
