import type { McpConfig } from "../config/config.js";
import { type Authenticator, noAuthentication } from "./authenticator.js";

/** Builds the authenticator AUTH_MODE names. */
export async function createAuthenticator(config: McpConfig): Promise<Authenticator> {
  switch (config.authMode) {
    case "none":
      return noAuthentication();
    default:
      throw new Error(`AUTH_MODE=${config.authMode} is not available in this build.`);
  }
}
