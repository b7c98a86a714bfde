import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { ResultReader, ResultWriter } from "../domain/results.js";
import { ClientOnFirstUse, type ClientSource, clientOf } from "./client-on-first-use.js";

export interface S3ResultStoreOptions {
  readonly client: ClientSource<S3Client>;
  readonly bucketName: string;
}

/** The S3 SDK, imported by the first stored result read, written or linked (once: modules are cached). */
const s3Sdk = (): Promise<typeof import("@aws-sdk/client-s3")> => import("@aws-sdk/client-s3");

/** An S3 client made, with the S3 SDK imported, when the first stored result is read, written or linked. */
export function s3ClientOnFirstUse(config: S3ClientConfig): ClientOnFirstUse<S3Client> {
  return new ClientOnFirstUse(async () => new (await s3Sdk()).S3Client(config));
}

/** The results bucket. The worker only puts, the MCP function only gets: each role holds one grant. */
export class S3ResultStore implements ResultWriter, ResultReader {
  private readonly client: ClientSource<S3Client>;
  private readonly bucketName: string;

  constructor(options: S3ResultStoreOptions) {
    this.client = options.client;
    this.bucketName = options.bucketName;
  }

  async put(key: string, body: string, contentType: string): Promise<void> {
    const [client, { PutObjectCommand }] = await Promise.all([clientOf(this.client), s3Sdk()]);
    await client.send(
      new PutObjectCommand({ Bucket: this.bucketName, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    const [client, { GetObjectCommand }] = await Promise.all([clientOf(this.client), s3Sdk()]);
    // HTTP ranges are inclusive at both ends.
    const { Body } = await client.send(
      new GetObjectCommand({ Bucket: this.bucketName, Key: key, Range: `bytes=${start}-${end - 1}` }),
    );
    if (Body === undefined) throw new Error(`GetObject returned no body for ${key}`);
    return Body.transformToByteArray();
  }

  /** The presigner is loaded by the first answer that links a stored result, not at cold start. */
  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    const [client, { GetObjectCommand }, { getSignedUrl }] = await Promise.all([
      clientOf(this.client),
      s3Sdk(),
      import("@aws-sdk/s3-request-presigner"),
    ]);
    return getSignedUrl(client, new GetObjectCommand({ Bucket: this.bucketName, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}
