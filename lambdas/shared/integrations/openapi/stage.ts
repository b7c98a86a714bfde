import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { readOpenApiDocument } from "./document.js";

/** Where each staged file goes in a function's bundle → where it is on this machine. */
export type StagedFiles = Readonly<Record<string, string>>;

/**
 * Makes an integrations file whose OpenAPI imports a function can read alone: each document is
 * dereferenced here and written as JSON beside a copy of the file, which names it instead. Nothing
 * in the copies has a `$ref` any more, so a function never needs to resolve one. `bundleName` is
 * the file's name in the bundle. A file without imports is bundled as it is (undefined).
 */
export function stageIntegrationsFile(
  file: string,
  outDir: string,
  bundleName: string,
): StagedFiles | undefined {
  const text = readFileSync(file, "utf8");
  const parsed = JSON.parse(text) as { integrations?: unknown[] };
  const entries = parsed.integrations ?? [];
  const imports = entries.filter(
    (entry): entry is { openapi: string } =>
      typeof entry === "object" &&
      entry !== null &&
      typeof (entry as { openapi?: unknown }).openapi === "string",
  );
  if (imports.length === 0) return undefined;
  const folder = join(outDir, `integrations-${createHash("sha256").update(text).digest("hex").slice(0, 16)}`);
  mkdirSync(folder, { recursive: true });
  const staged: Record<string, string> = {};
  const names = new Map<string, string>();
  const copy = {
    ...parsed,
    integrations: entries.map((entry) => {
      if (!imports.includes(entry as { openapi: string })) return entry;
      const source = resolve(dirname(file), (entry as { openapi: string }).openapi);
      let name = names.get(source);
      if (name === undefined) {
        name = `openapi-${names.size + 1}.json`;
        names.set(source, name);
        const path = join(folder, name);
        writeFileSync(path, JSON.stringify(withoutRefs(readOpenApiDocument(source))));
        staged[name] = path;
      }
      return { ...(entry as object), openapi: `./${name}` };
    }),
  };
  const stagedFile = join(folder, bundleName);
  writeFileSync(stagedFile, `${JSON.stringify(copy, null, 2)}\n`);
  staged[bundleName] = stagedFile;
  return staged;
}

/**
 * A dereferenced document can keep a `$ref` only where a schema refers to itself; the import
 * refuses those in an input, so elsewhere (a response) it is only noted.
 */
function withoutRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutRefs);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) =>
      key === "$ref" ? ["x-circular-ref", child] : [key, withoutRefs(child)],
    ),
  );
}
