import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { IntegrationsFileError, readIntegrationsFile } from "../../lambdas/shared/integrations/load.js";
import { addComplianceChecks } from "../../lib/compliance.js";
import { REPO_ROOT } from "../../lib/lambda-function.js";
import { McpAsyncJobsStack } from "../../lib/mcp-async-jobs-stack.js";
import {
  actionsOf,
  allows,
  FAST_APP,
  logicalIdOf,
  roleLogicalId,
  statementsOfRole,
  synthStack,
} from "./synth.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "integrations-infra-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLES = join(REPO_ROOT, "integrations", "examples.json");
const WITH_SECRETS = join(dir, "with-secrets.json");
writeFileSync(
  WITH_SECRETS,
  JSON.stringify({
    integrations: [
      {
        name: "render_report",
        description: "Renders a report.",
        input: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
        request: {
          url: "https://reports.example.com/v1/{{input.id}}",
          headers: { authorization: "Bearer {{secrets.REPORTS_KEY}}", "x-other": "{{secrets.OTHER}}" },
        },
      },
    ],
  }),
);
const WITH_OPENAPI = join(dir, "with-openapi.json");
copyFileSync(
  join(REPO_ROOT, "test", "fixtures", "openapi", "lro.openapi.yaml"),
  join(dir, "lro.openapi.yaml"),
);
writeFileSync(
  WITH_OPENAPI,
  JSON.stringify({
    integrations: [
      {
        openapi: "./lro.openapi.yaml",
        operations: ["getGreeting", "createReport", "runExport"],
        secrets: { ApiKeyAuth: "LRO_KEY" },
      },
    ],
  }),
);
const MALFORMED = join(dir, "malformed.json");
writeFileSync(
  MALFORMED,
  JSON.stringify({
    integrations: [
      { name: "broken", description: "x", input: { type: "object" }, request: { url: "ftp://x/" } },
    ],
  }),
);

function envOf(
  template: ReturnType<typeof synthStack>["template"],
  logicalId: string,
): Record<string, unknown> {
  const fn = template.findResources("AWS::Lambda::Function")[logicalId];
  return (fn?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
}

describe("integrationsFile", () => {
  it("without it, the functions load no integrations and no secret is made for them", () => {
    const { stack, template } = synthStack();
    for (const fn of [stack.endpoint.function, stack.worker.function]) {
      expect(envOf(template, logicalIdOf(fn.node.defaultChild as never))).not.toHaveProperty(
        "INTEGRATIONS_FILE",
      );
    }
    expect(stack.jobs.integrations).toBeUndefined();
    // The API keys' and the webhooks' secrets only: none for integrations.
    const secrets = Object.keys(template.findResources("AWS::SecretsManager::Secret"));
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.filter((id) => /Integrations/.test(id))).toEqual([]);
  });

  it("names the bundled file for both functions; a file without secrets makes no secret", () => {
    const { stack, template } = synthStack({ integrationsFile: EXAMPLES });
    expect(stack.jobs.integrations?.names).toEqual([
      "summarize_text",
      "render_report",
      "create_invoice",
      "get_quote",
      "translate_text",
      "export_data",
      "archive_mailbox",
    ]);
    expect(stack.jobs.integrations?.secret).toBeUndefined();
    for (const fn of [stack.endpoint.function, stack.worker.function]) {
      const env = envOf(template, logicalIdOf(fn.node.defaultChild as never));
      expect(env.INTEGRATIONS_FILE).toBe("/var/task/integrations.json");
      expect(env).not.toHaveProperty("INTEGRATIONS_SECRET_ARN");
      expect(env).not.toHaveProperty("INTEGRATIONS_ALLOW_LOOPBACK");
    }
  });

  it("creates the secret when the file uses {{secrets.*}}, and grants it to the worker alone", () => {
    const { stack, template } = synthStack({ integrationsFile: WITH_SECRETS });
    const secret = stack.jobs.integrations?.secret;
    if (!secret) throw new Error("expected a secret");
    const secretId = logicalIdOf(secret.node.defaultChild as never);
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { SecretStringTemplate: JSON.stringify({ OTHER: "", REPORTS_KEY: "" }) },
    });
    const workerEnv = envOf(template, logicalIdOf(stack.worker.function.node.defaultChild as never));
    expect(workerEnv.INTEGRATIONS_SECRET_ARN).toEqual({ Ref: secretId });
    const mcpEnv = envOf(template, logicalIdOf(stack.endpoint.function.node.defaultChild as never));
    expect(mcpEnv).not.toHaveProperty("INTEGRATIONS_SECRET_ARN");

    // Which roles may read this secret: the worker's, and no other.
    const readers = Object.entries(template.findResources("AWS::IAM::Role"))
      .map(([roleId]) => roleId)
      .filter((roleId) =>
        statementsOfRole(template, roleId).some(
          (s) =>
            allows(actionsOf([s]), "secretsmanager:GetSecretValue") &&
            JSON.stringify(s.Resource).includes(secretId),
        ),
      );
    expect(readers).toEqual([roleLogicalId(stack.worker.function.role)]);
    template.hasOutput("IntegrationsSecretArn", { Value: { Ref: secretId } });
  });

  it("an OpenAPI import: its tools and secret at synth; the functions get a copy beside the dereferenced document", () => {
    const { stack, template } = synthStack({ integrationsFile: WITH_OPENAPI });
    const integrations = stack.jobs.integrations;
    expect(integrations?.names).toEqual(["get_greeting", "create_report", "run_export"]);
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { SecretStringTemplate: JSON.stringify({ LRO_KEY: "" }) },
    });
    const files = integrations?.bundledFiles ?? {};
    expect(Object.keys(files).sort()).toEqual(["integrations.json", "openapi-1.json"]);
    const document = readFileSync(files["openapi-1.json"] as string, "utf8");
    expect(document).not.toContain('"$ref"');
    expect(JSON.parse(readFileSync(files["integrations.json"] as string, "utf8"))).toMatchObject({
      integrations: [
        { openapi: "./openapi-1.json", operations: ["getGreeting", "createReport", "runExport"] },
      ],
    });
    // What a function reads from its bundle yields the same tools.
    const bundled = readIntegrationsFile(files["integrations.json"] as string);
    expect(bundled.map(({ integration }) => integration.name)).toEqual(integrations?.names);
    expect(
      bundled.find(({ integration }) => integration.name === "create_report")?.operation?.longRunning,
    ).toEqual({
      finalStateVia: "location",
      aip151: false,
      header: "operation-location",
    });
  });

  it("a malformed file stops synth with one message naming the integration and the field", () => {
    const app = new App(FAST_APP);
    expect(() => new McpAsyncJobsStack(app, "Bad", { integrationsFile: MALFORMED })).toThrow(
      IntegrationsFileError,
    );
    expect(() => new McpAsyncJobsStack(new App(FAST_APP), "Bad", { integrationsFile: MALFORMED })).toThrow(
      `Integrations file ${MALFORMED}: integration "broken", field request.url: must start with a literal https:// origin (placeholders belong in the path and query).`,
    );
  });

  it("is cdk-nag clean with the integrations secret", () => {
    const app = new App(FAST_APP);
    new McpAsyncJobsStack(app, "Nag", { integrationsFile: WITH_SECRETS });
    addComplianceChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});

describe("npx cdk synth -c integrationsFile=…", () => {
  const cdk = (args: string[]) =>
    run(join(REPO_ROOT, "node_modules/.bin/cdk"), ["synth", "--no-notices", "-q", ...args], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CDK_DISABLE_VERSION_CHECK: "true",
        CI: "true",
        AWS_EC2_METADATA_DISABLED: "true",
      },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });

  it("fails on a malformed file with its one message", async () => {
    const error = (await cdk(["-c", `integrationsFile=${MALFORMED}`, "-o", join(dir, "bad-out")]).catch(
      (e: unknown) => e,
    )) as { code?: number; stderr?: string };
    expect(error.code).not.toBe(0);
    expect(error.stderr).toContain(
      `Integrations file ${MALFORMED}: integration "broken", field request.url:`,
    );
    expect(error.stderr).not.toMatch(/at .*\.ts:\d+/);
  }, 120_000);

  it("bundles the file into the MCP and worker functions", async () => {
    const out = join(dir, "out");
    await cdk(["-c", `integrationsFile=${WITH_SECRETS}`, "-o", out]);
    const template = JSON.parse(readFileSync(join(out, "McpAsyncJobs.template.json"), "utf8")) as {
      Resources: Record<
        string,
        { Type: string; Metadata?: Record<string, string>; Properties?: Record<string, never> }
      >;
    };
    const withFile = Object.values(template.Resources).filter(
      (r) =>
        r.Type === "AWS::Lambda::Function" &&
        (r.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables
          ?.INTEGRATIONS_FILE,
    );
    expect(withFile).toHaveLength(2);
    for (const fn of withFile) {
      const bundled = join(out, String(fn.Metadata?.["aws:asset:path"]), "integrations.json");
      expect(existsSync(bundled)).toBe(true);
      expect(readFileSync(bundled, "utf8")).toBe(readFileSync(WITH_SECRETS, "utf8"));
    }
  }, 120_000);
});
