import { DomainError } from "../domain/errors.js";
import type { JobRow } from "../domain/job.js";
import type { ResultReader } from "../domain/results.js";

/** A job that has no result to read (yet, or ever). */
export class ResultUnavailableError extends DomainError {
  constructor(
    readonly jobId: string,
    status: string,
  ) {
    super(
      status === "queued" || status === "running"
        ? `Job ${jobId} is still ${status}; it has no result yet. Call get_job with waitSeconds to wait for it.`
        : `Job ${jobId} ended ${status}; it has no result to read. get_job shows its error.`,
    );
  }
}

export class InvalidResultOffsetError extends DomainError {
  constructor(offset: number, totalBytes: number) {
    super(
      offset > totalBytes
        ? `offset ${offset} is past the end of the result (${totalBytes} bytes).`
        : `offset ${offset} falls inside a character; pass 0 or the nextOffset of a previous read_job_result answer.`,
    );
  }
}

export interface ResultPageRequest {
  /** Byte offset into the result's JSON text; 0 or a previous page's nextOffset. */
  readonly offset: number;
  /** At most this many bytes of text; a page holds at least one whole character. */
  readonly maxBytes: number;
  /** At most this many characters once `text` is escaped as a JSON string (the answer's own budget). */
  readonly maxEscapedChars: number;
}

export interface ResultPage {
  readonly jobId: string;
  readonly offset: number;
  /** Where the next page starts; absent on the last page. */
  readonly nextOffset?: number;
  readonly totalBytes: number;
  readonly text: string;
}

/** UTF-8 encodes a character in at most four bytes. */
const MAX_CHAR_BYTES = 4;

/**
 * One page of a completed job's result JSON, cut on a UTF-8 character boundary. Inline results are
 * sliced from the row; stored ones are read with a byte range, so a page never loads the whole object.
 */
export async function readResultPage(
  job: JobRow,
  reader: ResultReader | undefined,
  request: ResultPageRequest,
): Promise<ResultPage> {
  if (job.status !== "completed") throw new ResultUnavailableError(job.id, job.status);
  const inline = job.resultJson !== undefined ? Buffer.from(job.resultJson, "utf8") : undefined;
  const ref = job.resultRef;
  const totalBytes = inline?.length ?? ref?.bytes;
  if (totalBytes === undefined) throw new ResultUnavailableError(job.id, job.status);
  if (request.offset > totalBytes) throw new InvalidResultOffsetError(request.offset, totalBytes);

  // A few bytes past maxBytes, so that a character straddling the limit can be seen whole.
  const end = Math.min(
    totalBytes,
    request.offset + Math.max(request.maxBytes, MAX_CHAR_BYTES) + MAX_CHAR_BYTES,
  );
  let chunk: Uint8Array;
  if (inline !== undefined) chunk = inline.subarray(request.offset, end);
  else if (ref !== undefined && reader !== undefined)
    chunk = await reader.readRange(ref.key, request.offset, end);
  else throw new Error(`Job ${job.id} has a stored result but no result reader is configured`);

  const cut = cutPage(chunk, request.maxBytes, request.maxEscapedChars);
  if (cut.bytes === 0 && chunk.length > 0) throw new InvalidResultOffsetError(request.offset, totalBytes);
  const nextOffset = request.offset + cut.bytes;
  return {
    jobId: job.id,
    offset: request.offset,
    ...(nextOffset < totalBytes ? { nextOffset } : {}),
    totalBytes,
    text: cut.text,
  };
}

/**
 * The longest prefix of `chunk` made of whole UTF-8 characters that fits `maxBytes` and, escaped as
 * a JSON string, `maxEscapedChars`; always at least one character (unless the chunk starts mid-character).
 */
export function cutPage(
  chunk: Uint8Array,
  maxBytes: number,
  maxEscapedChars: number,
): { readonly text: string; readonly bytes: number } {
  let bytes = 0;
  let escapedChars = 0;
  while (bytes < chunk.length) {
    const lead = chunk[bytes] as number;
    const length = sequenceLength(lead);
    if (length === 0) break;
    if (bytes + length > chunk.length) break;
    const cost = escapedLength(lead, length);
    if (bytes > 0 && (bytes + length > maxBytes || escapedChars + cost > maxEscapedChars)) break;
    bytes += length;
    escapedChars += cost;
  }
  return { text: Buffer.from(chunk.buffer, chunk.byteOffset, bytes).toString("utf8"), bytes };
}

/** Bytes of the character a lead byte starts; 0 for a continuation byte (not a character start). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xc0) return 0;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

/** Characters JSON.stringify writes for one character: quotes and backslashes double, controls grow. */
function escapedLength(lead: number, length: number): number {
  if (length === 4) return 2; // a surrogate pair in UTF-16
  if (length > 1) return 1;
  if (lead === 0x22 || lead === 0x5c) return 2;
  return lead < 0x20 ? 6 : 1;
}
