import { describe, expect, it } from "vitest";
import { parseApiKeyList } from "../../lambdas/shared/auth/api-key-authenticator.js";
import { loadMcpConfig } from "../../lambdas/shared/config/config.js";
import { prepareLocalAuth } from "../../local/local-auth.js";

describe("npm start auth settings", () => {
  it("api-key mode without API_KEYS generates a 32-byte development key named dev", () => {
    const first = prepareLocalAuth({ AUTH_MODE: "api-key" });
    const second = prepareLocalAuth({ AUTH_MODE: "api-key" });
    expect(first.devKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.devKey).not.toBe(first.devKey);
    expect(first.env.API_KEYS).toBe(`dev:${first.devKey}`);
    expect(parseApiKeyList(first.env.API_KEYS ?? "")).toEqual([{ name: "dev", key: first.devKey }]);
    expect(first.authorizationHeader).toBe(`Authorization: Bearer ${first.devKey}`);
    expect(first.bearer).toBe(first.devKey);
    // The generated settings pass the same config checks as the deployed function's.
    expect(loadMcpConfig({ JOB_TABLE_NAME: "t", JOB_QUEUE_URL: "http://q", ...first.env }).auth.mode).toBe(
      "api-key",
    );
  });

  it("api-key mode with API_KEYS keeps them and prints none of them", () => {
    const env = { AUTH_MODE: "api-key", API_KEYS: "alice:alice-key-0123456789ab" };
    const auth = prepareLocalAuth(env);
    expect(auth.env).toBe(env);
    expect(auth.devKey).toBeUndefined();
    expect(auth.authorizationHeader).not.toContain("alice-key");
    expect(auth.bearer).toBe("<one of your API_KEYS>");
  });

  it("none and jwt modes generate nothing", () => {
    expect(prepareLocalAuth({}).devKey).toBeUndefined();
    expect(prepareLocalAuth({}).authorizationHeader).toBeUndefined();
    expect(prepareLocalAuth({}).bearer).toBeUndefined();
    expect(prepareLocalAuth({ AUTH_MODE: "jwt" }).bearer).toBe("<access token>");
    expect(prepareLocalAuth({ AUTH_MODE: "jwt" }).authorizationHeader).toBe(
      "Authorization: Bearer <access token>",
    );
  });
});
