import { timingSafeEqual } from "node:crypto";
import { ConfigError } from "../config/env-reader.js";
import type { Log } from "../domain/logger.js";
import { sha256Bytes as sha256 } from "../domain/sha256.js";
import type { Authenticator } from "./authenticator.js";
import { B64TOKEN, bearerChallenger, readBearerToken } from "./bearer.js";

/**
 * A key must be at least this long. 16 characters of the generated alphabet carry over 90 bits,
 * out of reach of online guessing; the stack generates 48 and `npm start` 43.
 */
export const MIN_API_KEY_LENGTH = 16;
export const MAX_API_KEY_LENGTH = 512;

/** Callers authenticated by an API key are `key:<name>`, so they never collide with a JWT subject. */
export const API_KEY_PRINCIPAL_PREFIX = "key:";

const PRINCIPAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** One named key as configured; it lives only until the authenticator has hashed it. */
export interface ApiKeyEntry {
  readonly name: string;
  readonly key: string;
}

interface StoredKey {
  readonly principal: string;
  readonly digest: Buffer;
}

/**
 * Parses `API_KEYS`: comma-separated `name:key` pairs (`alice:key-a,bob:key-b`). Errors name the
 * entry by position and never quote it, since it holds a key.
 */
export function parseApiKeyList(value: string, source = "API_KEYS"): ApiKeyEntry[] {
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new ConfigError(`${source} holds no keys: set it to name:key pairs.`);
  return entries.map((entry, index) => {
    const colon = entry.indexOf(":");
    if (colon <= 0 || colon === entry.length - 1) {
      throw new ConfigError(
        `${source} entry ${index + 1} is not of the form name:key (pairs are separated by commas).`,
      );
    }
    return { name: entry.slice(0, colon).trim(), key: entry.slice(colon + 1).trim() };
  });
}

/** Checks names and keys, and keeps only each key's SHA-256 digest and its principal. */
function hashApiKeys(entries: readonly ApiKeyEntry[], source: string): StoredKey[] {
  if (entries.length === 0) throw new ConfigError(`${source} holds no keys.`);
  const names = new Set<string>();
  const digests = new Set<string>();
  return entries.map(({ name, key }, index) => {
    const where = `${source} entry ${index + 1}`;
    if (!PRINCIPAL_NAME.test(name)) {
      throw new ConfigError(
        `${where}: the name must be 1 to 64 letters, digits or _ . @ - and start with a letter or digit.`,
      );
    }
    if (names.has(name)) throw new ConfigError(`${where}: the name "${name}" is used twice.`);
    names.add(name);
    if (key.length < MIN_API_KEY_LENGTH || key.length > MAX_API_KEY_LENGTH) {
      throw new ConfigError(
        `${where} ("${name}"): the key must be ${MIN_API_KEY_LENGTH} to ${MAX_API_KEY_LENGTH} characters long.`,
      );
    }
    if (!B64TOKEN.test(key)) {
      throw new ConfigError(
        `${where} ("${name}"): the key may hold only letters, digits and - . _ ~ + / (then = padding), as a bearer token must.`,
      );
    }
    const digest = sha256(key);
    const hex = digest.toString("hex");
    if (digests.has(hex)) throw new ConfigError(`${where} ("${name}"): the same key is given to two names.`);
    digests.add(hex);
    return { principal: `${API_KEY_PRINCIPAL_PREFIX}${name}`, digest };
  });
}

export interface ApiKeyAuthenticatorOptions {
  /** Where the keys came from, for error messages: "API_KEYS" or the secret. */
  readonly source: string;
  readonly log: Log;
}

/**
 * AUTH_MODE=api-key: `Authorization: Bearer <key>`. The presented key is hashed and its digest
 * compared with every stored digest in constant time, so neither the timing nor the order of the
 * keys tells anything about a near miss.
 */
export function apiKeyAuthenticator(
  entries: readonly ApiKeyEntry[],
  options: ApiKeyAuthenticatorOptions,
): Authenticator {
  const keys = hashApiKeys(entries, options.source);
  const challenger = bearerChallenger();
  const missing = {
    message: "Unauthorized: send your API key in an Authorization: Bearer <key> header.",
  };

  return {
    unauthorized: (request, refusal) => challenger.unauthorized(request, refusal),
    async authenticate(request) {
      const credentials = readBearerToken(request);
      if (credentials.kind === "missing") {
        return { ok: false, response: challenger.unauthorized(request, missing) };
      }
      if (credentials.kind === "malformed") {
        return {
          ok: false,
          response: challenger.unauthorized(request, {
            error: "invalid_request",
            description: "The Authorization header must be Bearer followed by one key.",
            message: "Unauthorized: the Authorization header must be Bearer followed by one API key.",
          }),
        };
      }
      const presented = sha256(credentials.token);
      let principal: string | undefined;
      for (const key of keys) {
        if (timingSafeEqual(presented, key.digest) && principal === undefined) principal = key.principal;
      }
      if (principal === undefined) {
        options.log.info("API key refused", { reason: "unknown_key" });
        return {
          ok: false,
          response: challenger.unauthorized(request, {
            error: "invalid_token",
            description: "The API key is not valid.",
            message: "Unauthorized: the API key is not valid.",
          }),
        };
      }
      return { ok: true, caller: { principal } };
    },
  };
}
