import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { coldPathOutputs, functionBuildOptions, lambdaSource } from "../../lib/function-bundle.js";

const outdir = mkdtempSync(join(tmpdir(), "function-bundle-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The packages of every input in the entry and the chunks it imports statically: what a cold start parses. */
function coldPackages(metafile: Metafile): Set<string> {
  const entry = Object.keys(metafile.outputs).find((path) => path.endsWith("/index.mjs"));
  if (entry === undefined) throw new Error("no index.mjs in the bundle");
  const reached = coldPathOutputs(metafile, entry);
  const packages = new Set<string>();
  for (const path of reached) {
    for (const input of Object.keys(metafile.outputs[path]?.inputs ?? {})) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input)?.[1];
      packages.add(name ?? input);
    }
  }
  return packages;
}

describe("the MCP function's bundle, as ServiceFunction builds it", () => {
  it("parses at cold start neither the 2026 door's SDK, nor S3, JWT or the tracer: they are chunks loaded on use", async () => {
    const { metafile } = await build({
      ...functionBuildOptions(lambdaSource("mcp/handler"), outdir),
      metafile: true,
      write: false,
    });
    const cold = coldPackages(metafile);
    // What every request needs is there…
    for (const needed of [
      "@modelcontextprotocol/sdk",
      "@aws-sdk/client-dynamodb",
      "@aws-sdk/client-sqs",
      "zod",
    ]) {
      expect(cold).toContain(needed);
    }
    // …and what only some requests need is bundled, but not on the cold path.
    const all = Object.keys(metafile.inputs);
    const lazy = [
      "@modelcontextprotocol/server",
      "@aws-sdk/client-s3",
      "@aws-sdk/s3-request-presigner",
      "jose",
      "@aws-lambda-powertools/tracer",
    ];
    for (const name of lazy) {
      expect(all.some((input) => input.includes(`node_modules/${name}/`))).toBe(true);
      expect(cold).not.toContain(name);
    }
  }, 60_000);
});
