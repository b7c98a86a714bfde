import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { JwtAuthConfig } from "../config/config.js";
import type { Log } from "../domain/logger.js";
import { isHttpsOrLoopbackUrl } from "../domain/loopback.js";
import { jsonRpcError } from "../http/json-rpc.js";
import type { Authenticator, AuthOutcome } from "./authenticator.js";
import { bearerChallenger, readBearerToken } from "./bearer.js";
import {
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  resourceFromRequest,
  serveProtectedResourceMetadata,
} from "./protected-resource-metadata.js";

/** Asymmetric signatures only: an HMAC (HS*) secret would be shared with every verifier, and `none` is no signature. */
export const JWT_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** Seconds of clock skew allowed on `exp` and `nbf` between the issuer and this server. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** A subject longer than this is refused: the principal becomes a DynamoDB key (2 KB at most). */
const MAX_SUBJECT_LENGTH = 512;

const FETCH_TIMEOUT_MS = 5_000;

export interface JwtAuthenticatorOptions {
  readonly settings: Omit<JwtAuthConfig, "mode">;
  readonly log: Log;
  /** For OIDC discovery; tests may hand in their own. */
  readonly fetch?: typeof fetch;
}

/** The caller of a JWT: `<iss>|<sub>`. Stable for a user, and subjects of two issuers never collide. */
export function jwtPrincipal(issuer: string, subject: string): string {
  return `${issuer}|${subject}`;
}

/** The signing keys are unreachable: no verdict on the token, so a 503 rather than a 401. */
class KeysUnavailableError extends Error {}

/**
 * AUTH_MODE=jwt: an OAuth 2.1 resource server. A token must be signed (asymmetrically) by a key of
 * the issuer's JWKS, carry exactly the configured `iss`, name this server as its audience, be
 * within `exp`/`nbf`, and hold every required scope.
 */
export function jwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const { settings, log } = options;
  const fetchImpl = options.fetch ?? fetch;
  const resourceIsUrl = isHttpUrl(settings.audience);
  // The resource identifier is the audience when that is a URL (the MCP URL, as RFC 8707 clients
  // request it); with a Cognito app client id as the audience, it is the URL this request reached.
  const resource = (request: Request): string =>
    resourceIsUrl ? settings.audience : resourceFromRequest(request);
  const challenger = bearerChallenger((request) => protectedResourceMetadataUrl(resource(request)));
  const keys = memoizeUntilFailure(async (): Promise<JWTVerifyGetKey> => {
    const url = settings.jwksUrl ?? (await discoverJwksUrl(settings.issuer, fetchImpl));
    return createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS });
  });

  const refuse = (request: Request, reason: string, description: string): AuthOutcome => {
    log.info("Access token refused", { reason });
    return {
      ok: false,
      response: challenger.unauthorized(request, {
        error: "invalid_token",
        description,
        message: `Unauthorized: ${description}`,
      }),
    };
  };

  return {
    unauthorized: (request, refusal) => challenger.unauthorized(request, refusal),
    publicDocument: (request) =>
      serveProtectedResourceMetadata(request, (current) =>
        protectedResourceMetadata({
          resource: resource(current),
          authorizationServers: settings.authorizationServers,
          scopes: settings.requiredScopes,
        }),
      ),

    async authenticate(request) {
      const credentials = readBearerToken(request);
      if (credentials.kind === "missing") {
        return {
          ok: false,
          response: challenger.unauthorized(request, {
            message:
              "Unauthorized: send an OAuth access token in an Authorization: Bearer header; the resource_metadata in WWW-Authenticate names the authorization server.",
          }),
        };
      }
      if (credentials.kind === "malformed") {
        return {
          ok: false,
          response: challenger.unauthorized(request, {
            error: "invalid_request",
            description: "The Authorization header must be Bearer followed by one token.",
            message: "Unauthorized: the Authorization header must be Bearer followed by one access token.",
          }),
        };
      }

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(credentials.token, await keys(), {
          issuer: settings.issuer,
          algorithms: JWT_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ["exp", "sub"],
        }));
      } catch (error) {
        const verdict = classify(error);
        if (verdict === "unavailable") {
          log.error("The issuer's signing keys could not be fetched", { issuer: settings.issuer, error });
          return { ok: false, response: keysUnavailable() };
        }
        return refuse(request, verdict.reason, verdict.description);
      }

      if (payload.token_use !== undefined && payload.token_use !== "access") {
        return refuse(request, "not_an_access_token", "The token is not an access token.");
      }
      if (!hasAudience(payload, settings.audience)) {
        return refuse(request, "audience", "The access token is for another audience.");
      }
      const subject = payload.sub ?? "";
      if (subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) {
        return refuse(request, "subject", "The access token has no usable sub claim.");
      }
      const granted = grantedScopes(payload);
      if (!settings.requiredScopes.every((scope) => granted.has(scope))) {
        log.info("Access token refused", { reason: "insufficient_scope" });
        return { ok: false, response: challenger.insufficientScope(request, settings.requiredScopes) };
      }
      return { ok: true, caller: { principal: jwtPrincipal(settings.issuer, subject) } };
    },
  };
}

/**
 * `aud` must name the audience (RFC 9068). Amazon Cognito access tokens carry no `aud` unless the
 * client asked for a resource (resource binding); they name their app client in `client_id`, so a
 * token without `aud` passes when `client_id` equals the configured audience. Cognito ID tokens
 * (`token_use: "id"`) are refused before this.
 */
function hasAudience(payload: JWTPayload, audience: string): boolean {
  if (payload.aud !== undefined) {
    return Array.isArray(payload.aud) ? payload.aud.includes(audience) : payload.aud === audience;
  }
  return payload.client_id === audience && payload.token_use === "access";
}

/** Scopes from `scope` (space-separated, RFC 9068) and `scp` (an array or a string, as some issuers send). */
function grantedScopes(payload: JWTPayload): Set<string> {
  const granted = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === "string") for (const scope of value.split(" ")) if (scope) granted.add(scope);
    if (Array.isArray(value)) for (const scope of value) if (typeof scope === "string") granted.add(scope);
  };
  add(payload.scope);
  add(payload.scp);
  return granted;
}

type Verdict = "unavailable" | { readonly reason: string; readonly description: string };

/** Maps what jose throws to the answer: a fault of the token (401), or of the key fetch (503). */
function classify(error: unknown): Verdict {
  if (error instanceof errors.JWTExpired)
    return { reason: "expired", description: "The access token has expired." };
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") {
      return {
        reason: "issuer",
        description: "The access token is from an issuer this server does not trust.",
      };
    }
    if (error.claim === "nbf")
      return { reason: "not_yet_valid", description: "The access token is not valid yet." };
    return {
      reason: `claim_${error.claim}`,
      description: `The access token's ${error.claim} claim is missing or invalid.`,
    };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return { reason: "algorithm", description: "The access token's signing algorithm is not accepted." };
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return { reason: "signature", description: "The access token's signature could not be verified." };
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return { reason: "malformed", description: "The access token is not a valid signed JWT." };
  }
  // A timeout, a network error, an error status or a bad key set from the JWKS or discovery URL.
  return "unavailable";
}

function keysUnavailable(): Response {
  return jsonRpcError(
    503,
    -32000,
    "Service unavailable: the authorization server's signing keys could not be fetched. Try again shortly.",
    { "retry-after": "5" },
  );
}

/**
 * OpenID Connect discovery: `<issuer>/.well-known/openid-configuration` names `jwks_uri`. Amazon
 * Cognito, Auth0, Okta, Entra ID and Keycloak all serve it. The document must name the same issuer.
 */
export async function discoverJwksUrl(issuer: string, fetchImpl: typeof fetch = fetch): Promise<string> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let document: unknown;
  try {
    const response = await fetchImpl(url, {
      headers: { accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!response.ok) throw new KeysUnavailableError(`${url} answered HTTP ${response.status}`);
    document = await response.json();
  } catch (error) {
    if (error instanceof KeysUnavailableError) throw error;
    throw new KeysUnavailableError(`OpenID discovery at ${url} failed`, { cause: error });
  }
  const fields = (typeof document === "object" && document !== null ? document : {}) as Record<
    string,
    unknown
  >;
  if (fields.issuer !== issuer) {
    throw new KeysUnavailableError(`${url} names issuer ${String(fields.issuer)}, not ${issuer}`);
  }
  if (typeof fields.jwks_uri !== "string" || !isHttpsOrLoopbackUrl(fields.jwks_uri)) {
    throw new KeysUnavailableError(`${url} has no https jwks_uri`);
  }
  return fields.jwks_uri;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/** Runs `load` once and keeps its result; a failure is not kept, so the next request tries again. */
function memoizeUntilFailure<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
