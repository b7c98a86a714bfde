import * as z from "zod";
import type { RequestScope } from "./tool-catalog.js";

/**
 * How a request's caller and deadline ride from the front door to the handlers of either door: both
 * SDKs hand the `authInfo` given with a request to that request's handlers, as it is.
 */
const ScopeExtra = z.object({ principal: z.string().min(1), answerBy: z.number() });

/** The `AuthInfo` shape both SDKs take. */
export interface ScopeAuthInfo {
  readonly token: string;
  readonly clientId: string;
  readonly scopes: string[];
  readonly extra: Record<string, unknown>;
}

export function authInfoOf(scope: RequestScope): ScopeAuthInfo {
  return {
    token: "",
    clientId: scope.caller.principal,
    scopes: [],
    extra: { principal: scope.caller.principal, answerBy: scope.answerBy },
  };
}

/** The scope the front door attached to a request; one without it is a wiring bug, and throws. */
export function scopeOfAuthInfo(
  authInfo: { readonly extra?: Record<string, unknown> } | undefined,
): RequestScope {
  const extra = ScopeExtra.parse(authInfo?.extra);
  return { caller: { principal: extra.principal }, answerBy: extra.answerBy };
}
