import { describe, expect, it } from "vitest";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import { placeResult, type ResultReader } from "../../lambdas/shared/domain/results.js";
import {
  cutPage,
  InvalidResultOffsetError,
  ResultUnavailableError,
  readResultPage,
} from "../../lambdas/shared/usecases/result-pages.js";

const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8");

describe("placeResult", () => {
  const limits = { inlineBytes: 16_000, maxBytes: 10_000_000, storeAvailable: true };
  it("keeps up to the inline bound in the row, stores up to the maximum, refuses past it", () => {
    expect(placeResult(16_000, limits).kind).toBe("inline");
    expect(placeResult(16_001, limits).kind).toBe("store");
    expect(placeResult(10_000_000, limits).kind).toBe("store");
    expect(placeResult(10_000_001, limits).kind).toBe("too_large");
  });
  it("without a store the inline bound is the maximum, and the maximum wins over the inline bound", () => {
    expect(placeResult(16_001, { ...limits, storeAvailable: false }).kind).toBe("too_large");
    expect(placeResult(5_000, { ...limits, maxBytes: 1_000 }).kind).toBe("too_large");
  });
});

describe("cutPage", () => {
  it("takes whole characters up to maxBytes and never splits one", () => {
    expect(cutPage(bytes("abcdef"), 4, 1_000)).toEqual({ text: "abcd", bytes: 4 });
    // "é" is two bytes: a cut after 2 bytes would split it.
    expect(cutPage(bytes("aébc"), 2, 1_000)).toEqual({ text: "a", bytes: 1 });
    expect(cutPage(bytes("a日本"), 5, 1_000)).toEqual({ text: "a日", bytes: 4 });
  });

  it("always takes at least one character, even one larger than maxBytes", () => {
    expect(cutPage(bytes("🚀x"), 1, 1_000)).toEqual({ text: "🚀", bytes: 4 });
  });

  it("takes nothing from a chunk that starts inside a character", () => {
    expect(cutPage(bytes("日本").subarray(1), 16, 1_000).bytes).toBe(0);
  });

  it("stops where the JSON-escaped text would pass its budget", () => {
    // Each quote escapes to two characters.
    const page = cutPage(bytes('""""""""""'), 100, 10);
    expect(page.bytes).toBe(5);
    expect(JSON.stringify(page.text).length - 2).toBe(10);
    expect(JSON.stringify(cutPage(bytes("🚀🚀🚀"), 100, 4).text)).toBe('"🚀🚀"');
  });
});

function completedRow(fields: Partial<JobRow>): JobRow {
  return {
    id: "7d3c1a52-8a4e-4a53-9a51-5f0e7f7c6d21",
    type: "export_api",
    owner: "alice",
    status: "completed",
    inputJson: "{}",
    inputHash: "h",
    attempt: 1,
    maxAttempts: 3,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    expiresAt: 2_000_000_000,
    ...fields,
  };
}

/** An in-memory object store that records the byte ranges asked of it. */
function memoryReader(objects: Record<string, string>): ResultReader & { ranges: Array<[number, number]> } {
  const ranges: Array<[number, number]> = [];
  return {
    ranges,
    async readRange(key, start, end) {
      ranges.push([start, end]);
      return Buffer.from(objects[key] ?? "", "utf8").subarray(start, end);
    },
    async presignGet(key) {
      return `https://example.invalid/${key}`;
    },
  };
}

describe("readResultPage", () => {
  const text = JSON.stringify({ rows: Array.from({ length: 500 }, (_, n) => ({ n, text: `ü ${n}` })) });
  const total = Buffer.byteLength(text);
  const request = { offset: 0, maxBytes: 1_000, maxEscapedChars: 19_000 };

  it("pages a stored result with byte ranges no larger than a page", async () => {
    const reader = memoryReader({ "results/x.json": text });
    const row = completedRow({
      resultRef: {
        key: "results/x.json",
        bytes: total,
        sha256: "0".repeat(64),
        contentType: "application/json",
      },
    });
    let offset: number | undefined = 0;
    let joined = "";
    while (offset !== undefined) {
      const page = await readResultPage(row, reader, { ...request, offset });
      expect(page.totalBytes).toBe(total);
      joined += page.text;
      offset = page.nextOffset;
    }
    expect(joined).toBe(text);
    for (const [start, end] of reader.ranges) expect(end - start).toBeLessThanOrEqual(1_008);
  });

  it("reads an inline result the same way, without a reader", async () => {
    const page = await readResultPage(completedRow({ resultJson: '{"a":1}' }), undefined, request);
    expect(page).toEqual({ jobId: completedRow({}).id, offset: 0, totalBytes: 7, text: '{"a":1}' });
  });

  it("refuses an open or failed job, and an offset past the end or inside a character", async () => {
    await expect(readResultPage(completedRow({ status: "running" }), undefined, request)).rejects.toThrow(
      ResultUnavailableError,
    );
    await expect(readResultPage(completedRow({ status: "failed" }), undefined, request)).rejects.toThrow(
      /no result to read/,
    );
    const row = completedRow({ resultJson: '"é"' });
    await expect(readResultPage(row, undefined, { ...request, offset: 9 })).rejects.toThrow(
      InvalidResultOffsetError,
    );
    await expect(readResultPage(row, undefined, { ...request, offset: 2 })).rejects.toThrow(
      /inside a character/,
    );
    expect(await readResultPage(row, undefined, { ...request, offset: 4 })).toMatchObject({ text: "" });
  });
});
