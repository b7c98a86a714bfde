import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../local/local-stack.js";
import { freePort } from "../support/free-port.js";
import { hmacToken, startTestIssuer, type TestIssuer, unsignedToken } from "../support/jwt-issuer.js";
import { callForJob, connectClient, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";
import { MCP_HEADERS, START_CALL } from "../support/raw-mcp.js";

const SCOPE = "mcp:jobs";

let issuer: TestIssuer;
let stack: LocalStack;
let audience: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  // The audience is this server's own MCP URL, so the port is chosen before the stack starts.
  const port = await freePort();
  audience = `http://127.0.0.1:${port}/mcp`;
  stack = await startTestStack({
    port,
    env: {
      AUTH_MODE: "jwt",
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: audience,
      JWT_JWKS_URL: issuer.jwksUrl,
      JWT_REQUIRED_SCOPES: SCOPE,
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await issuer?.close();
});

const now = (): number => Math.floor(Date.now() / 1000);
const metadataUrl = (): string => `${stack.origin}/.well-known/oauth-protected-resource`;

function post(token: string | undefined, url = stack.mcpUrl): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: START_CALL,
  });
}

describe("jwt mode refuses every bad token with 401 and the resource metadata, and creates nothing", () => {
  it("no token: a challenge naming the realm and the resource metadata", async () => {
    const response = await expectNothingCreated(stack, () => post(undefined));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="mcp", resource_metadata="${metadataUrl()}"`,
    );
  });

  it.each([
    [
      "expired",
      () => issuer.sign({ sub: "u", aud: audience, scope: SCOPE, exp: now() - 120 }),
      "has expired",
    ],
    [
      "for another audience",
      () => issuer.sign({ sub: "u", aud: "https://other.example/mcp", scope: SCOPE }),
      "for another audience",
    ],
    [
      "from another issuer",
      () => issuer.sign({ sub: "u", aud: audience, scope: SCOPE, iss: "https://issuer.example" }),
      "from an issuer this server does not trust",
    ],
    [
      "signed by another key",
      async () =>
        issuer.sign(
          { sub: "u", aud: audience, scope: SCOPE },
          { key: (await generateKeyPair("RS256")).privateKey },
        ),
      "signature could not be verified",
    ],
    [
      "with alg none",
      async () =>
        unsignedToken({ iss: issuer.issuer, sub: "u", aud: audience, scope: SCOPE, exp: now() + 300 }),
      "signing algorithm is not accepted",
    ],
    [
      "signed with HS256",
      () =>
        hmacToken({ iss: issuer.issuer, sub: "u", aud: audience, scope: SCOPE, exp: now() + 300 }, "secret"),
      "signing algorithm is not accepted",
    ],
  ])("a token %s", async (_case, make, description) => {
    const token = await make();
    const response = await expectNothingCreated(stack, () => post(token));
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    const prefix = `Bearer realm="mcp", resource_metadata="${metadataUrl()}", error="invalid_token", error_description="`;
    expect(challenge.startsWith(prefix)).toBe(true);
    expect(challenge.slice(prefix.length)).toMatch(new RegExp(`^[^"]*${description}[^"]*"$`));
    const body = await response.text();
    expect(JSON.parse(body).error.message).toContain(description);
    expect(body).not.toContain(token);
  });

  it("a valid token in the query string: 401 invalid_request", async () => {
    const token = await issuer.sign({ sub: "u", aud: audience, scope: SCOPE });
    const response = await expectNothingCreated(stack, () =>
      post(undefined, `${stack.mcpUrl}?access_token=${token}`),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="mcp", resource_metadata="${metadataUrl()}", error="invalid_request", error_description="Send the token in the Authorization header, never in the query string."`,
    );
  });

  it("a valid token without the required scope: 403 insufficient_scope", async () => {
    const token = await issuer.sign({ sub: "u", aud: audience, scope: "openid profile" });
    const response = await expectNothingCreated(stack, () => post(token));
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer error="insufficient_scope", scope="${SCOPE}", resource_metadata="${metadataUrl()}"`,
    );
    expect((await response.json()).error.message).toBe(
      `Forbidden: the access token lacks a scope this server requires (${SCOPE}).`,
    );
  });
});

describe("a valid access token", () => {
  it("works with the real MCP client, and the job's owner is <iss>|<sub>", async () => {
    const token = await issuer.sign({ sub: "user-42", aud: audience, scope: `openid ${SCOPE}` });
    const client = await connectClient(stack.mcpUrl, { authorization: `Bearer ${token}` });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain("start_slow_api");
      const job = await callForJob(client, "start_slow_api", {
        query: "jwt",
        delaySeconds: 0,
        waitSeconds: 10,
      });
      expect(job.status).toBe("completed");
      const { Item } = await stack.clients.dynamo.send(
        new GetItemCommand({ TableName: stack.resources.tableName, Key: { id: { S: job.jobId } } }),
      );
      expect(Item?.owner?.S).toBe(`${issuer.issuer}|user-42`);
      expect(JSON.stringify(Item)).not.toContain(token);
    } finally {
      await client.close();
    }
  });
});

describe("RFC 9728 protected resource metadata", () => {
  it.each(["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])(
    "GET %s names the resource and the authorization server",
    async (path) => {
      const response = await fetch(`${stack.origin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(await response.json()).toEqual({
        resource: audience,
        authorization_servers: [issuer.issuer],
        scopes_supported: [SCOPE],
        bearer_methods_supported: ["header"],
        resource_name: "mcp-async-jobs",
      });
    },
  );

  it("is where the challenge's resource_metadata points", async () => {
    const challenge = (await post(undefined)).headers.get("www-authenticate") ?? "";
    const url = /resource_metadata="([^"]+)"/.exec(challenge)?.[1] ?? "";
    expect((await (await fetch(url)).json()).authorization_servers).toEqual([issuer.issuer]);
  });
});
