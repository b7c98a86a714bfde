import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import { DEFAULT_STACK_NAME } from "../../lib/app-context.js";
import { REPO_ROOT } from "../../lib/lambda-function.js";

const run = promisify(execFile);
const outdir = mkdtempSync(join(tmpdir(), "cdk-synth-"));

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

interface Template {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, string> }
  >;
  Outputs: Record<string, unknown>;
}

describe("npx cdk synth", () => {
  it("uses a CLI pinned to an exact 2.x release and a local esbuild (no Docker)", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    // The registry's `latest` aws-cdk is a 3.x that cannot read this synth output.
    expect(pkg.devDependencies["aws-cdk"]).toMatch(/^2\.\d+\.\d+$/);
    expect(pkg.devDependencies.esbuild).toMatch(/^\d+\.\d+\.\d+$/);
    expect(existsSync(join(REPO_ROOT, "node_modules/.bin/esbuild"))).toBe(true);
  });

  it("synthesizes the app offline, bundling the four functions with the local esbuild", async () => {
    const started = performance.now();
    const flags = ["-c", "resultMaxBytes=50000000", "-c", "resultInlineBytes=8000"];
    await run(
      join(REPO_ROOT, "node_modules/.bin/cdk"),
      ["synth", "--no-notices", "-q", "-o", outdir, ...flags],
      {
        cwd: REPO_ROOT,
        // No version check and no notices: nothing may need the network. No AWS credentials either.
        env: {
          ...process.env,
          CDK_DISABLE_VERSION_CHECK: "true",
          CI: "true",
          AWS_EC2_METADATA_DISABLED: "true",
        },
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const seconds = (performance.now() - started) / 1000;
    // Reported, not asserted: on a shared, loaded machine the time says nothing about the code.
    console.info(`cdk synth took ${seconds.toFixed(1)} s`);

    const template = JSON.parse(
      readFileSync(join(outdir, `${DEFAULT_STACK_NAME}.template.json`), "utf8"),
    ) as Template;
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining([
        "McpUrl",
        "JobTableName",
        "JobQueueUrl",
        "ApiKeySecretArn",
        "GetApiKeyCommand",
        "GetWebhookSecretCommand",
      ]),
    );
    const functions = Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions).toHaveLength(4);
    // -c resultMaxBytes / resultInlineBytes reach the function that applies them, the worker.
    const limits = functions.map((fn) => {
      const environment = fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
      const variables = environment?.Variables ?? {};
      return [variables[ENV.resultMaxBytes], variables[ENV.resultInlineBytes]];
    });
    expect(limits).toContainEqual(["50000000", "8000"]);
    const bundles = functions.map((fn) => {
      const asset = fn.Metadata?.["aws:asset:path"];
      expect(asset).toBeDefined();
      const dir = join(outdir, String(asset));
      const entry = join(dir, "index.mjs");
      expect(existsSync(entry)).toBe(true);
      // Code split: what the handler imports on demand is in chunks, each file with its source map.
      const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".mjs"));
      expect(files.filter((file) => file.startsWith("chunks/")).length).toBeGreaterThan(0);
      for (const file of files) {
        const code = readFileSync(join(dir, file), "utf8");
        expect(existsSync(join(dir, `${file}.map`))).toBe(true);
        // Every ESM file of the bundle defines `require` for CommonJS dependencies.
        expect(code.slice(0, 200)).toContain("createRequire");
      }
      return {
        entry: readFileSync(entry, "utf8"),
        all: files.map((file) => readFileSync(join(dir, file), "utf8")).join("\n"),
      };
    });
    for (const { all } of bundles) {
      // No YAML parser is bundled: functions read the JSON documents synth staged.
      expect(all).not.toContain("YAMLParseError");
      // The SDK's nested STS/SSO clients are stand-ins, in every function: Lambda's credentials are in the environment.
      expect(all).toContain("it reads the credentials Lambda puts in its environment");
    }
    // The MCP SDK's Ajv package is replaced by its stand-in (BUNDLE_ALIASES).
    expect(bundles.some(({ all }) => all.includes("(Ajv) is not bundled in this function"))).toBe(true);
  }, 300_000);
});
