import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { secretsManagerReader } from "../../lambdas/shared/adapters/secrets-manager.js";
import {
  apiKeyAuthenticator,
  MIN_API_KEY_LENGTH,
  parseApiKeyList,
} from "../../lambdas/shared/auth/api-key-authenticator.js";
import { createAuthenticator } from "../../lambdas/shared/auth/create-authenticator.js";
import { loadApiKeysFromSecret } from "../../lambdas/shared/auth/secret-api-keys.js";
import { loadMcpConfig } from "../../lambdas/shared/config/config.js";
import { ConfigError } from "../../lambdas/shared/config/env-reader.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";

const KEY_A = "alice-key-0123456789abcdef";
const KEY_B = "bob-key-0123456789abcdefgh";
const CONFIG_ENV = { JOB_TABLE_NAME: "jobs", JOB_QUEUE_URL: "http://localhost/queue" };

function request(authorization?: string): Request {
  return new Request("http://127.0.0.1/mcp", {
    method: "POST",
    headers: authorization === undefined ? {} : { authorization },
  });
}

const authenticator = apiKeyAuthenticator(parseApiKeyList(`alice:${KEY_A}, bob:${KEY_B}`), {
  source: "API_KEYS",
  log: silentLog,
});

describe("API_KEYS parsing", () => {
  it("reads name:key pairs separated by commas", () => {
    expect(parseApiKeyList(`alice:${KEY_A},bob:${KEY_B}`)).toEqual([
      { name: "alice", key: KEY_A },
      { name: "bob", key: KEY_B },
    ]);
  });

  it.each([
    ["an entry without a colon", KEY_A, /entry 1 is not of the form name:key/],
    ["an entry without a name", `:${KEY_A}`, /entry 1 is not of the form name:key/],
    ["an entry without a key", `alice:${KEY_A},bob:`, /entry 2 is not of the form name:key/],
    ["an empty list", " , ", /holds no keys/],
  ])("refuses %s", (_case, value, message) => {
    expect(() => parseApiKeyList(value)).toThrow(message);
  });

  it.each([
    ["a duplicate name", `alice:${KEY_A},alice:${KEY_B}`, /the name "alice" is used twice/],
    ["a short key", "alice:short-key", new RegExp(`must be ${MIN_API_KEY_LENGTH} to 512 characters`)],
    ["a key with a character a bearer token cannot hold", `alice:${KEY_A}#`, /may hold only letters/],
    ["a name with a space", `al ice:${KEY_A}`, /the name must be 1 to 64/],
    ["the same key twice", `alice:${KEY_A},bob:${KEY_A}`, /the same key is given to two names/],
  ])("refuses %s with a ConfigError that never quotes the key", (_case, value, message) => {
    let thrown: unknown;
    try {
      apiKeyAuthenticator(parseApiKeyList(value), { source: "API_KEYS", log: silentLog });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain(KEY_A);
    expect((thrown as Error).message).not.toContain("short-key");
  });

  it("config: api-key mode needs API_KEYS or API_KEYS_SECRET_ARN, not both", () => {
    expect(() => loadMcpConfig({ ...CONFIG_ENV, AUTH_MODE: "api-key" })).toThrow(
      /AUTH_MODE=api-key needs API_KEYS .* or API_KEYS_SECRET_ARN/,
    );
    expect(() =>
      loadMcpConfig({
        ...CONFIG_ENV,
        AUTH_MODE: "api-key",
        API_KEYS: `a:${KEY_A}`,
        API_KEYS_SECRET_ARN: "arn",
      }),
    ).toThrow(/not both/);
    expect(loadMcpConfig({ ...CONFIG_ENV, AUTH_MODE: "api-key", API_KEYS_SECRET_ARN: "arn:x" }).auth).toEqual(
      {
        mode: "api-key",
        apiKeysSecretArn: "arn:x",
      },
    );
  });
});

describe("the API key authenticator", () => {
  it("turns a valid key into its principal, key:<name>", async () => {
    expect(await authenticator.authenticate(request(`Bearer ${KEY_A}`))).toEqual({
      ok: true,
      caller: { principal: "key:alice" },
    });
    expect(await authenticator.authenticate(request(`bearer   ${KEY_B}`))).toEqual({
      ok: true,
      caller: { principal: "key:bob" },
    });
  });

  it("answers no credentials (or another scheme) with a bare Bearer challenge", async () => {
    for (const header of [undefined, `Basic ${Buffer.from(`alice:${KEY_A}`).toString("base64")}`]) {
      const outcome = await authenticator.authenticate(request(header));
      if (outcome.ok) throw new Error("expected a refusal");
      expect(outcome.response.status).toBe(401);
      expect(outcome.response.headers.get("www-authenticate")).toBe('Bearer realm="mcp"');
      expect(await outcome.response.json()).toEqual({
        jsonrpc: "2.0",
        error: {
          code: -32001,
          message: "Unauthorized: send your API key in an Authorization: Bearer <key> header.",
        },
        id: null,
      });
    }
  });

  it("answers a wrong key with invalid_token, and a malformed header with invalid_request", async () => {
    const wrong = await authenticator.authenticate(request(`Bearer ${KEY_A}x`));
    if (wrong.ok) throw new Error("expected a refusal");
    expect(wrong.response.status).toBe(401);
    expect(wrong.response.headers.get("www-authenticate")).toBe(
      'Bearer realm="mcp", error="invalid_token", error_description="The API key is not valid."',
    );
    expect(await wrong.response.text()).not.toContain(KEY_A);

    const malformed = await authenticator.authenticate(request(`Bearer ${KEY_A} ${KEY_B}`));
    if (malformed.ok) throw new Error("expected a refusal");
    expect(malformed.response.headers.get("www-authenticate")).toMatch(
      /^Bearer realm="mcp", error="invalid_request"/,
    );
  });
});

describe("API keys from the stack's secret", () => {
  it("reads {name: key} JSON through the reader port", async () => {
    const read = async (id: string): Promise<string> => {
      expect(id).toBe("arn:secret");
      return JSON.stringify({ default: KEY_A, ci: KEY_B });
    };
    expect(await loadApiKeysFromSecret("arn:secret", read)).toEqual([
      { name: "default", key: KEY_A },
      { name: "ci", key: KEY_B },
    ]);
  });

  it.each([
    ["not JSON", `{"default": "${KEY_A}"`, /is not JSON of the form/],
    ["an array", JSON.stringify([KEY_A]), /must be a JSON object/],
    ["a non-string key", JSON.stringify({ default: 42 }), /the value of "default" must be a string/],
  ])("refuses a secret that is %s without quoting it", async (_case, text, message) => {
    const error = await loadApiKeysFromSecret("arn:secret", async () => text).catch(
      (thrown: Error) => thrown,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(KEY_A);
  });

  it("the Secrets Manager reader sends GetSecretValue for the ARN (answered by middleware, no AWS call)", async () => {
    const client = new SecretsManagerClient({
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    });
    const sent: unknown[] = [];
    client.middlewareStack.add(
      () => async (args) => {
        sent.push(args.input);
        return { output: { SecretString: JSON.stringify({ default: KEY_A }), $metadata: {} }, response: {} };
      },
      { step: "initialize", name: "fakeSecretsManager" },
    );
    expect(await secretsManagerReader(client)("arn:aws:secretsmanager:us-east-1:1:secret:keys")).toBe(
      JSON.stringify({ default: KEY_A }),
    );
    expect(sent).toEqual([{ SecretId: "arn:aws:secretsmanager:us-east-1:1:secret:keys" }]);
  });

  it("createAuthenticator loads the secret once and accepts its keys as key:<name>", async () => {
    let reads = 0;
    const config = loadMcpConfig({ ...CONFIG_ENV, AUTH_MODE: "api-key", API_KEYS_SECRET_ARN: "arn:secret" });
    const fromSecret = await createAuthenticator(config, {
      readSecret: async () => {
        reads++;
        return JSON.stringify({ default: KEY_A });
      },
    });
    expect(await fromSecret.authenticate(request(`Bearer ${KEY_A}`))).toEqual({
      ok: true,
      caller: { principal: "key:default" },
    });
    expect((await fromSecret.authenticate(request(`Bearer ${KEY_B}`))).ok).toBe(false);
    expect(reads).toBe(1);
  });
});
