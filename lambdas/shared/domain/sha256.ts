import { createHash } from "node:crypto";

/** SHA-256 of UTF-8 text: the input hash, owner digests, key comparison and bundle ids share it. */
export function sha256(text: string, encoding: "hex" | "base64url" = "hex"): string {
  return createHash("sha256").update(text, "utf8").digest(encoding);
}

/** The raw digest, for constant-time comparison of equal-length values. */
export function sha256Bytes(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
