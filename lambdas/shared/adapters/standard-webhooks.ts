import { createHmac, randomBytes } from "node:crypto";

/** Standard Webhooks secrets are `whsec_` + base64 of the key bytes. */
const SECRET_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** 24 bytes (192 bits) at least; the stack generates 33. */
const MIN_KEY_BYTES = 24;

/**
 * The HMAC key of a `whsec_…` secret. The prefix is optional, so the bare base64 value Secrets
 * Manager generates is accepted too. Errors never quote the secret.
 */
export function webhookKey(secret: string): Buffer {
  const problem = webhookKeyError(secret);
  if (problem !== undefined) throw new Error(`The webhook secret ${problem}`);
  return Buffer.from(withoutPrefix(secret), "base64");
}

/** Why a secret is unusable, or undefined when it is fine. */
export function webhookKeyError(secret: string): string | undefined {
  const encoded = withoutPrefix(secret);
  const ok =
    BASE64.test(encoded) &&
    encoded.length % 4 === 0 &&
    Buffer.from(encoded, "base64").length >= MIN_KEY_BYTES;
  return ok
    ? undefined
    : `must be "whsec_" followed by the base64 of at least ${MIN_KEY_BYTES} random bytes.`;
}

/** A new secret: 32 random bytes, as `npm start` generates one. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

function withoutPrefix(secret: string): string {
  const trimmed = secret.trim();
  return trimmed.startsWith(SECRET_PREFIX) ? trimmed.slice(SECRET_PREFIX.length) : trimmed;
}

/** The three Standard Webhooks headers of one attempt. */
export function webhookHeaders(
  key: Buffer,
  webhookId: string,
  timestampSeconds: number,
  body: string,
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  const signature = createHmac("sha256", key)
    .update(`${webhookId}.${timestampSeconds}.${body}`)
    .digest("base64");
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": `v1,${signature}`,
  };
}
