import SwaggerParser from "@apidevtools/swagger-parser";

/**
 * Dereferences one OpenAPI document with Swagger Parser, in a child process so that the loader
 * (which must stay synchronous: cold start, `cdk synth`) can wait for it. Reads `{ path, document }`
 * as JSON on stdin; writes the dereferenced document as JSON on stdout, or one line on stderr and
 * exits 1. Remote references are never fetched; a circular schema keeps its `$ref`.
 */
async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const { path, document } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
    path: string;
    document: object;
  };
  const dereferenced = await SwaggerParser.dereference(path, document as never, {
    resolve: { http: false, external: true },
    dereference: { circular: "ignore" },
  });
  process.stdout.write(JSON.stringify(dereferenced));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}`.replace(/\s+/g, " "));
  process.exitCode = 1;
});
