import type { Caller } from "../domain/caller.js";
import { bearerChallenger, type Refusal } from "./bearer.js";

export type AuthOutcome =
  | { readonly ok: true; readonly caller: Caller }
  | { readonly ok: false; readonly response: Response };

/** Turns a request's credentials into a verified caller, or into the 401/403 answer to send. */
export interface Authenticator {
  authenticate(request: Request): Promise<AuthOutcome>;
  /**
   * The 401 for a request the front door refuses before authenticating it (a token in the query
   * string), with the same challenge this mode sends for missing credentials.
   */
  unauthorized(request: Request, refusal: Refusal): Response;
  /** Answers the documents served without credentials (RFC 9728 metadata), or undefined. */
  publicDocument?(request: Request): Response | undefined;
}

/** AUTH_MODE=none: every request is the one local caller. Only for loopback development. */
export const LOCAL_PRINCIPAL = "local";

export function noAuthentication(): Authenticator {
  const challenger = bearerChallenger();
  return {
    authenticate: async () => ({ ok: true, caller: { principal: LOCAL_PRINCIPAL } }),
    unauthorized: (request, refusal) => challenger.unauthorized(request, refusal),
  };
}
