import type { SecretReader } from "../adapters/secrets-manager.js";
import type { McpConfig } from "../config/config.js";
import { ENV } from "../config/env-names.js";
import { type Log, silentLog } from "../domain/logger.js";
import { apiKeyAuthenticator, parseApiKeyList } from "./api-key-authenticator.js";
import { type Authenticator, noAuthentication } from "./authenticator.js";
import { loadApiKeysFromSecret } from "./secret-api-keys.js";

export interface AuthenticatorDeps {
  readonly log?: Log;
  /** Reads the API key secret; default: Secrets Manager. */
  readonly readSecret?: SecretReader;
  /** For OIDC discovery in jwt mode; default: the global fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * Builds the authenticator AUTH_MODE names. Runs once at cold start, so bad settings fail at once.
 * Each mode loads only its own parts: JWT verification (jose) and the Secrets Manager client are
 * imported by the modes that use them.
 */
export async function createAuthenticator(
  config: McpConfig,
  deps: AuthenticatorDeps = {},
): Promise<Authenticator> {
  const log = deps.log ?? silentLog;
  const { auth } = config;
  switch (auth.mode) {
    case "none":
      return noAuthentication();
    case "api-key": {
      if (auth.apiKeys !== undefined) {
        return apiKeyAuthenticator(parseApiKeyList(auth.apiKeys, ENV.apiKeys), { source: ENV.apiKeys, log });
      }
      const read = deps.readSecret ?? (await defaultSecretReader());
      const entries = await loadApiKeysFromSecret(auth.apiKeysSecretArn, read);
      return apiKeyAuthenticator(entries, { source: "The API key secret", log });
    }
    case "jwt": {
      const { mode: _mode, ...settings } = auth;
      const { jwtAuthenticator } = await import("./jwt-authenticator.js");
      return jwtAuthenticator({ settings, log, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
    }
  }
}

async function defaultSecretReader(): Promise<SecretReader> {
  const { newSecretsManagerReader } = await import("../adapters/secrets-manager.js");
  return newSecretsManagerReader("mcp");
}
