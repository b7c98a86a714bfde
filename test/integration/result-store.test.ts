import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { S3ResultStore, s3ClientOnFirstUse } from "../../lambdas/shared/adapters/s3-result-store.js";
import { RESULT_CONTENT_TYPE, resultKey } from "../../lambdas/shared/domain/results.js";
import { type LocalAws, useLocalAws } from "../support/local-aws.js";

let aws: LocalAws;
let store: S3ResultStore;

beforeAll(async () => {
  aws = await useLocalAws();
  store = new S3ResultStore({ client: aws.s3, bucketName: aws.resources.resultBucketName });
});

const text = `{"rows":[${Array.from({ length: 1_000 }, (_, n) => `{"n":${n},"text":"é ${n}"}`).join(",")}]}`;
const bytes = Buffer.from(text, "utf8");

describe("S3ResultStore against the emulator's S3", () => {
  it("writes a result and reads back exactly the byte ranges asked for", async () => {
    const key = resultKey("0d6f2a44-4c39-4a3e-9f0b-1b2c3d4e5f60");
    await store.put(key, text, RESULT_CONTENT_TYPE);
    expect(Buffer.from(await store.readRange(key, 0, 10))).toEqual(bytes.subarray(0, 10));
    expect(Buffer.from(await store.readRange(key, 1_000, 1_500))).toEqual(bytes.subarray(1_000, 1_500));
    // A range past the end is cut to the object, as S3 does.
    expect(Buffer.from(await store.readRange(key, bytes.length - 3, bytes.length + 50))).toEqual(
      bytes.subarray(bytes.length - 3),
    );
    expect((await store.readRange(key, 5, 5)).length).toBe(0);
  });

  it("overwrites on a second put of the same key (a retried run)", async () => {
    const key = resultKey("1d6f2a44-4c39-4a3e-9f0b-1b2c3d4e5f61");
    await store.put(key, '"first"', RESULT_CONTENT_TYPE);
    await store.put(key, '"second"', RESULT_CONTENT_TYPE);
    expect(Buffer.from(await store.readRange(key, 0, 100)).toString()).toBe('"second"');
  });

  it("signs a GET URL for the whole object, path-style on the emulator's endpoint", async () => {
    const key = resultKey("2d6f2a44-4c39-4a3e-9f0b-1b2c3d4e5f62");
    await store.put(key, text, RESULT_CONTENT_TYPE);
    const url = new URL(await store.presignGet(key, 900));
    expect(url.origin).toBe(aws.endpoints.sqsEndpoint);
    expect(url.pathname).toBe(`/${aws.resources.resultBucketName}/${key}`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    const response = await fetch(url);
    expect(response.headers.get("content-type")).toBe(RESULT_CONTENT_TYPE);
    const body = Buffer.from(await response.arrayBuffer());
    expect(createHash("sha256").update(body).digest("hex")).toBe(
      createHash("sha256").update(bytes).digest("hex"),
    );
  });

  it("fails a read of a missing object", async () => {
    await expect(store.readRange(resultKey("3d6f2a44-4c39-4a3e-9f0b-1b2c3d4e5f63"), 0, 10)).rejects.toThrow();
  });
});

describe("S3ResultStore with a client made on first use (as a deployed function builds it)", () => {
  it("makes one client, by its first call, and writes, reads and links through it", async () => {
    let made = 0;
    const lazy = s3ClientOnFirstUse({
      endpoint: aws.endpoints.sqsEndpoint,
      region: aws.endpoints.region,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      forcePathStyle: true,
    });
    lazy.whenMade(() => {
      made += 1;
    });
    const lazyStore = new S3ResultStore({ client: lazy, bucketName: aws.resources.resultBucketName });
    expect(made).toBe(0);

    const key = resultKey("4d6f2a44-4c39-4a3e-9f0b-1b2c3d4e5f64");
    await Promise.all([lazyStore.put(key, text, RESULT_CONTENT_TYPE), lazy.client()]);
    expect(Buffer.from(await lazyStore.readRange(key, 100, 200))).toEqual(bytes.subarray(100, 200));
    const url = new URL(await lazyStore.presignGet(key, 60));
    expect(url.pathname).toBe(`/${aws.resources.resultBucketName}/${key}`);
    expect((await fetch(url)).status).toBe(200);
    // The object the lazily made client wrote is the one a client made up front reads.
    expect(Buffer.from(await store.readRange(key, 0, bytes.length))).toEqual(bytes);
    expect(made).toBe(1);
  });
});
