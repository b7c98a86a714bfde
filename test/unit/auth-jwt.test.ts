import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../lambdas/shared/auth/authenticator.js";
import { createAuthenticator } from "../../lambdas/shared/auth/create-authenticator.js";
import { jwtAuthenticator } from "../../lambdas/shared/auth/jwt-authenticator.js";
import { loadMcpConfig } from "../../lambdas/shared/config/config.js";
import type { Log, LogFields } from "../../lambdas/shared/domain/logger.js";
import { hmacToken, startTestIssuer, type TestIssuer, unsignedToken } from "../support/jwt-issuer.js";

const AUDIENCE = "https://mcp.example.test/mcp";
const SCOPE = "jobs";
const CONFIG_ENV = { JOB_TABLE_NAME: "jobs", JOB_QUEUE_URL: "http://localhost/queue" };

let issuer: TestIssuer;
let authenticator: Authenticator;
const logged: Array<[string, LogFields]> = [];
const log: Log = {
  info: (message, fields) => logged.push([message, fields]),
  warn: (message, fields) => logged.push([message, fields]),
  error: (message, fields) => logged.push([message, fields]),
};

beforeAll(async () => {
  issuer = await startTestIssuer();
  // No JWKS URL: the keys are found through the issuer's OpenID discovery document.
  authenticator = await createAuthenticator(
    loadMcpConfig({
      ...CONFIG_ENV,
      AUTH_MODE: "jwt",
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: AUDIENCE,
      JWT_REQUIRED_SCOPES: SCOPE,
    }),
    { log },
  );
});

afterAll(async () => {
  await issuer?.close();
});

function request(token?: string): Request {
  return new Request("https://mcp.example.test/mcp", {
    method: "POST",
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

async function refusal(token: string): Promise<{ status: number; challenge: string | null; body: string }> {
  const outcome = await authenticator.authenticate(request(token));
  if (outcome.ok) throw new Error(`expected a refusal, got ${outcome.caller.principal}`);
  return {
    status: outcome.response.status,
    challenge: outcome.response.headers.get("www-authenticate"),
    body: await outcome.response.text(),
  };
}

const METADATA = 'resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource"';

describe("the JWT authenticator", () => {
  it("discovers the JWKS through openid-configuration and accepts a valid token as <iss>|<sub>", async () => {
    const token = await issuer.sign({ sub: "user-1", aud: AUDIENCE, scope: `openid ${SCOPE}` });
    expect(await authenticator.authenticate(request(token))).toEqual({
      ok: true,
      caller: { principal: `${issuer.issuer}|user-1` },
    });
    expect(issuer.requests).toContain("/.well-known/openid-configuration");
    expect(issuer.requests).toContain("/jwks.json");
  });

  it("reads scopes from an scp array and accepts aud as an array", async () => {
    const token = await issuer.sign({ sub: "user-2", aud: ["other", AUDIENCE], scp: [SCOPE] });
    expect((await authenticator.authenticate(request(token))).ok).toBe(true);
  });

  it("accepts a Cognito access token without aud whose client_id is the audience", async () => {
    const cognito = jwtAuthenticator({
      settings: {
        issuer: issuer.issuer,
        audience: "app-client-id",
        jwksUrl: issuer.jwksUrl,
        requiredScopes: [],
        authorizationServers: [issuer.issuer],
      },
      log,
    });
    const access = await issuer.sign({ sub: "u", client_id: "app-client-id", token_use: "access" });
    expect(await cognito.authenticate(request(access))).toEqual({
      ok: true,
      caller: { principal: `${issuer.issuer}|u` },
    });
    // The ID token of the same user pool names the client in aud; it is not an access token.
    const idToken = await issuer.sign({ sub: "u", aud: "app-client-id", token_use: "id" });
    const refused = await cognito.authenticate(request(idToken));
    expect(refused.ok).toBe(false);
    // Without token_use, client_id alone is not an audience.
    const other = await issuer.sign({ sub: "u", client_id: "app-client-id" });
    expect((await cognito.authenticate(request(other))).ok).toBe(false);
  });

  it("answers no token with the challenge naming the resource metadata", async () => {
    const outcome = await authenticator.authenticate(request());
    if (outcome.ok) throw new Error("expected a refusal");
    expect(outcome.response.status).toBe(401);
    expect(outcome.response.headers.get("www-authenticate")).toBe(`Bearer realm="mcp", ${METADATA}`);
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  it.each([
    [
      "expired",
      () => issuer.sign({ sub: "u", aud: AUDIENCE, scope: SCOPE, exp: now() - 120 }),
      "has expired",
    ],
    [
      "not valid yet",
      () => issuer.sign({ sub: "u", aud: AUDIENCE, scope: SCOPE, nbf: now() + 600 }),
      "not valid yet",
    ],
    [
      "for another audience",
      () => issuer.sign({ sub: "u", aud: "https://other.example/mcp", scope: SCOPE }),
      "another audience",
    ],
    ["without an audience", () => issuer.sign({ sub: "u", scope: SCOPE }), "another audience"],
    [
      "from another issuer",
      () => issuer.sign({ sub: "u", aud: AUDIENCE, scope: SCOPE, iss: "https://evil.example" }),
      "issuer this server does not trust",
    ],
    ["without sub", () => issuer.sign({ aud: AUDIENCE, scope: SCOPE }), "sub claim"],
    [
      "without exp",
      () => issuer.sign({ sub: "u", aud: AUDIENCE, scope: SCOPE, exp: undefined }),
      "exp claim",
    ],
    [
      "signed by another key",
      async () =>
        issuer.sign(
          { sub: "u", aud: AUDIENCE, scope: SCOPE },
          { key: (await generateKeyPair("RS256")).privateKey },
        ),
      "signature could not be verified",
    ],
    [
      "signed with an unknown kid",
      async () =>
        issuer.sign(
          { sub: "u", aud: AUDIENCE, scope: SCOPE },
          { kid: "nope", key: (await generateKeyPair("RS256")).privateKey },
        ),
      "signature could not be verified",
    ],
    [
      "unsigned (alg none)",
      async () =>
        unsignedToken({ iss: issuer.issuer, sub: "u", aud: AUDIENCE, scope: SCOPE, exp: now() + 300 }),
      "algorithm is not accepted",
    ],
    [
      "HMAC-signed (HS256)",
      () =>
        hmacToken(
          { iss: issuer.issuer, sub: "u", aud: AUDIENCE, scope: SCOPE, exp: now() + 300 },
          "guessable",
        ),
      "algorithm is not accepted",
    ],
    ["not a JWT", async () => "not.a.jwt", "not a valid signed JWT"],
  ])("refuses a token %s: 401 invalid_token with a description", async (_case, make, description) => {
    const token = await make();
    const answer = await refusal(token);
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(
      new RegExp(
        `^Bearer realm="mcp", ${METADATA}, error="invalid_token", error_description="[^"]*${description}[^"]*"$`,
      ),
    );
    expect(answer.body).toContain(description);
    expect(answer.body).not.toContain(token);
  });

  it("answers a valid token without the required scope with 403 insufficient_scope", async () => {
    const answer = await refusal(await issuer.sign({ sub: "u", aud: AUDIENCE, scope: "openid" }));
    expect(answer.status).toBe(403);
    expect(answer.challenge).toBe(`Bearer error="insufficient_scope", scope="${SCOPE}", ${METADATA}`);
  });

  it("answers 503 (not 401) when the signing keys cannot be fetched, and logs no token", async () => {
    const unreachable = jwtAuthenticator({
      settings: {
        issuer: issuer.issuer,
        audience: AUDIENCE,
        jwksUrl: "http://127.0.0.1:9/jwks.json",
        requiredScopes: [],
        authorizationServers: [issuer.issuer],
      },
      log,
    });
    const token = await issuer.sign({ sub: "u", aud: AUDIENCE });
    const outcome = await unreachable.authenticate(request(token));
    if (outcome.ok) throw new Error("expected a refusal");
    expect(outcome.response.status).toBe(503);
    expect(JSON.stringify(logged)).not.toContain(token);
  });

  it("refuses a discovery document that names another issuer", async () => {
    const mismatched = jwtAuthenticator({
      settings: {
        issuer: `${issuer.issuer}/`,
        audience: AUDIENCE,
        requiredScopes: [],
        authorizationServers: [issuer.issuer],
      },
      log,
    });
    const token = await issuer.sign({ iss: `${issuer.issuer}/`, sub: "u", aud: AUDIENCE });
    const outcome = await mismatched.authenticate(request(token));
    expect(outcome.ok ? 200 : outcome.response.status).toBe(503);
  });

  it("serves the protected resource metadata at both well-known paths", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
    ]) {
      const response = authenticator.publicDocument?.(new Request(`https://mcp.example.test${path}`));
      expect(response?.status).toBe(200);
      expect(await response?.json()).toEqual({
        resource: AUDIENCE,
        authorization_servers: [issuer.issuer],
        scopes_supported: [SCOPE],
        bearer_methods_supported: ["header"],
        resource_name: "mcp-async-jobs",
      });
    }
    expect(authenticator.publicDocument?.(new Request("https://mcp.example.test/mcp"))).toBeUndefined();
  });
});

describe("jwt config", () => {
  it("needs an issuer and an audience", () => {
    expect(() => loadMcpConfig({ ...CONFIG_ENV, AUTH_MODE: "jwt" })).toThrow(
      /AUTH_MODE=jwt needs JWT_ISSUER and JWT_AUDIENCE/,
    );
  });

  it("takes http issuers on loopback only, and scopes separated by commas or spaces", () => {
    expect(() =>
      loadMcpConfig({
        ...CONFIG_ENV,
        AUTH_MODE: "jwt",
        JWT_ISSUER: "http://issuer.example",
        JWT_AUDIENCE: "a",
      }),
    ).toThrow(/JWT_ISSUER must be an https URL/);
    const config = loadMcpConfig({
      ...CONFIG_ENV,
      AUTH_MODE: "jwt",
      JWT_ISSUER: "https://issuer.example/",
      JWT_AUDIENCE: AUDIENCE,
      JWT_REQUIRED_SCOPES: "jobs:read, jobs:write mcp",
    });
    expect(config.auth).toEqual({
      mode: "jwt",
      issuer: "https://issuer.example/",
      audience: AUDIENCE,
      requiredScopes: ["jobs:read", "jobs:write", "mcp"],
      authorizationServers: ["https://issuer.example/"],
    });
    expect(() =>
      loadMcpConfig({
        ...CONFIG_ENV,
        AUTH_MODE: "jwt",
        JWT_ISSUER: "https://issuer.example/",
        JWT_AUDIENCE: AUDIENCE,
        JWT_REQUIRED_SCOPES: 'jobs"',
      }),
    ).toThrow(/is not a valid OAuth scope/);
  });
});
