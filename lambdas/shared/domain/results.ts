import * as z from "zod";

/** Every stored result lives under this prefix; the functions' S3 grants name it and nothing else. */
export const RESULT_KEY_PREFIX = "results/";

/** Results are JSON text; the stored object says so. */
export const RESULT_CONTENT_TYPE = "application/json; charset=utf-8";

/** The object key of a job's result: derived from the job id alone, so a retry overwrites, never adds. */
export function resultKey(jobId: string): string {
  return `${RESULT_KEY_PREFIX}${jobId}.json`;
}

/** Where a result too large for its row went: kept in the row instead of `resultJson`. */
export const ResultRefSchema = z.object({
  key: z.string().min(1),
  /** Size of the result's JSON text in UTF-8 bytes. */
  bytes: z.number().int().nonnegative(),
  /** Hex SHA-256 of those bytes, so a reader can check what it reassembled. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: z.string().min(1),
});
export type ResultRef = z.infer<typeof ResultRefSchema>;

/** The worker's side of the result store: it only ever writes a whole result. */
export interface ResultWriter {
  put(key: string, body: string, contentType: string): Promise<void>;
}

/** The MCP side: it reads byte ranges and, deployed, mints links to the whole object. */
export interface ResultReader {
  /** Bytes `start` (inclusive) to `end` (exclusive) of the object; never downloads the rest. */
  readRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** A time-limited HTTPS GET URL for the whole object. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
}

/** How a completed job's result is kept, decided from its size alone. */
export type ResultPlacement =
  | { readonly kind: "inline" }
  | { readonly kind: "store" }
  | { readonly kind: "too_large" };

export interface ResultLimits {
  /** Up to this many bytes stay in the row. */
  readonly inlineBytes: number;
  /** Up to this many go to the result store; larger ones fail the job. */
  readonly maxBytes: number;
  /** False when no result store is configured: then the inline bound is the maximum. */
  readonly storeAvailable: boolean;
}

export function placeResult(bytes: number, limits: ResultLimits): ResultPlacement {
  if (bytes > limits.maxBytes) return { kind: "too_large" };
  if (bytes <= limits.inlineBytes) return { kind: "inline" };
  return limits.storeAvailable ? { kind: "store" } : { kind: "too_large" };
}
