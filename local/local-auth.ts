import { randomBytes } from "node:crypto";
import { ENV } from "../lambdas/shared/config/env-names.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The principal name of the key `npm start` generates. */
export const DEV_KEY_NAME = "dev";

export interface LocalAuth {
  /** The environment to start the stack with (with API_KEYS set when a key was generated). */
  readonly env: Env;
  /** The generated development key, when one was needed. */
  readonly devKey?: string;
  /** What to put after `--header` for the MCP Inspector, when the mode needs a credential. */
  readonly authorizationHeader?: string;
  /** What the `jobs` CLI needs in MCP_API_KEY: the generated key, or a placeholder for the caller's own. */
  readonly bearer?: string;
}

/**
 * `npm start` in api-key mode without API_KEYS generates a development key (32 random bytes), so
 * the endpoint is never open by accident and the key can be printed for the Inspector.
 */
export function prepareLocalAuth(env: Env): LocalAuth {
  switch (env[ENV.authMode] ?? "none") {
    case "api-key": {
      if (env[ENV.apiKeys]?.trim() || env[ENV.apiKeysSecretArn]?.trim()) {
        return {
          env,
          authorizationHeader: "Authorization: Bearer <one of your API_KEYS>",
          bearer: "<one of your API_KEYS>",
        };
      }
      const devKey = randomBytes(32).toString("base64url");
      return {
        env: { ...env, [ENV.apiKeys]: `${DEV_KEY_NAME}:${devKey}` },
        devKey,
        authorizationHeader: `Authorization: Bearer ${devKey}`,
        bearer: devKey,
      };
    }
    case "jwt":
      return { env, authorizationHeader: "Authorization: Bearer <access token>", bearer: "<access token>" };
    default:
      return { env };
  }
}
