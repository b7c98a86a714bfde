import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { ResultReader, ResultWriter } from "../domain/results.js";

export interface S3ResultStoreOptions {
  readonly client: S3Client;
  readonly bucketName: string;
}

/** The results bucket. The worker only puts, the MCP function only gets: each role holds one grant. */
export class S3ResultStore implements ResultWriter, ResultReader {
  private readonly client: S3Client;
  private readonly bucketName: string;

  constructor(options: S3ResultStoreOptions) {
    this.client = options.client;
    this.bucketName = options.bucketName;
  }

  async put(key: string, body: string, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucketName, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    // HTTP ranges are inclusive at both ends.
    const { Body } = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucketName, Key: key, Range: `bytes=${start}-${end - 1}` }),
    );
    if (Body === undefined) throw new Error(`GetObject returned no body for ${key}`);
    return Body.transformToByteArray();
  }

  /** The presigner is loaded by the first answer that links a stored result, not at cold start. */
  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    const { getSignedUrl } = await import("@aws-sdk/s3-request-presigner");
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucketName, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}
