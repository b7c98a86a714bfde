/** Standard Webhooks secrets are `whsec_` + base64 of the key bytes. */
export const SECRET_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** 24 bytes (192 bits) at least; the stack generates 33. */
const MIN_KEY_BYTES = 24;

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

export function withoutPrefix(secret: string): string {
  const trimmed = secret.trim();
  return trimmed.startsWith(SECRET_PREFIX) ? trimmed.slice(SECRET_PREFIX.length) : trimmed;
}
