import { App, type CfnElement, RemovalPolicy } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import { DEFAULT_STACK_NAME, readAppContext } from "../../lib/app-context.js";
import { actionsOf, allows, logicalIdOf, roleLogicalId, statementsOfRole, synthStack } from "./synth.js";

describe("api-key mode (the default)", () => {
  const { stack, template } = synthStack();
  const secretId = logicalIdOf(stack.auth.apiKeysSecret?.node.defaultChild as CfnElement);

  it("creates a secret holding one generated key under 'default'", () => {
    // Beside it, the webhook signing secret (test/infra/notifications.test.ts).
    template.resourceCountIs("AWS::SecretsManager::Secret", 2);
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: "{}", GenerateStringKey: "default" }),
    });
    template.hasResource("AWS::SecretsManager::Secret", { DeletionPolicy: "Retain" });
  });

  it("lets only the MCP function read it, and tells the function where it is", () => {
    const readers = Object.values(template.findResources("AWS::IAM::Policy")).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes(secretId),
    );
    expect(readers).toHaveLength(1);
    expect(readers[0]?.Properties.Roles).toEqual([{ Ref: roleLogicalId(stack.endpoint.function.role) }]);
    const mcpActions = actionsOf(statementsOfRole(template, roleLogicalId(stack.endpoint.function.role)));
    expect(allows(mcpActions, "secretsmanager:GetSecretValue")).toBe(true);
    expect(allows(mcpActions, "secretsmanager:PutSecretValue")).toBe(false);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ [ENV.authMode]: "api-key", [ENV.apiKeysSecretArn]: { Ref: secretId } }),
      },
    });
  });

  it("outputs the secret and the command that prints the key", () => {
    template.hasOutput("ApiKeySecretArn", { Value: { Ref: secretId } });
    template.hasOutput("ApiKeySecretName", {});
    const command = JSON.stringify(template.findOutputs("GetApiKeyCommand"));
    expect(command).toContain("aws secretsmanager get-secret-value");
    expect(command).toContain("--query SecretString --output text");
  });
});

describe("jwt mode", () => {
  it("passes issuer, audience, JWKS URL, scopes and authorization servers to the function, and makes no secret", () => {
    const { template } = synthStack({
      auth: {
        mode: "jwt",
        jwtIssuer: "https://issuer.example.com/",
        jwtAudience: "https://mcp.example.com/mcp",
        jwtJwksUrl: "https://issuer.example.com/.well-known/jwks.json",
        jwtRequiredScopes: ["jobs:read", "jobs:write"],
        jwtAuthorizationServers: ["https://issuer.example.com/"],
      },
    });
    // Only the webhook signing secret.
    template.resourceCountIs("AWS::SecretsManager::Secret", 1);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          [ENV.authMode]: "jwt",
          [ENV.jwtIssuer]: "https://issuer.example.com/",
          [ENV.jwtAudience]: "https://mcp.example.com/mcp",
          [ENV.jwtJwksUrl]: "https://issuer.example.com/.well-known/jwks.json",
          [ENV.jwtRequiredScopes]: "jobs:read,jobs:write",
          [ENV.jwtAuthorizationServers]: "https://issuer.example.com/",
        }),
      },
    });
    expect(template.findOutputs("ApiKeySecretArn")).toEqual({});
  });

  it("without an issuer or an audience fails synth with a message naming what is missing", () => {
    expect(() => synthStack({ auth: { mode: "jwt" } })).toThrow(
      /authMode "jwt" needs jwtIssuer and jwtAudience: deploy with -c authMode=jwt -c jwtIssuer=/,
    );
    expect(() => synthStack({ auth: { mode: "jwt", jwtIssuer: "https://issuer.example.com/" } })).toThrow(
      /needs jwtAudience/,
    );
  });

  it("rejects an issuer that is not an https URL", () => {
    expect(() => synthStack({ auth: { mode: "jwt", jwtIssuer: "issuer", jwtAudience: "aud" } })).toThrow(
      /jwtIssuer must be an https URL/,
    );
  });
});

describe("none mode", () => {
  it("without the explicit opt-in fails synth and says how to opt in", () => {
    expect(() => synthStack({ auth: { mode: "none" } })).toThrow(/allowUnauthenticated=true/);
  });

  it("with the opt-in synthesizes, warns loudly and makes no secret", () => {
    const { stack, template } = synthStack({ auth: { mode: "none", allowUnauthenticated: true } });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("UNAUTHENTICATED"));
    // Only the webhook signing secret.
    template.resourceCountIs("AWS::SecretsManager::Secret", 1);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ [ENV.authMode]: "none" }) },
    });
  });
});

describe("bin/app.ts context flags", () => {
  const read = (context: Record<string, unknown>) => readAppContext(new App({ context }).node);

  it("default to api-key auth, retained data and the finite per-caller limits", () => {
    const { stackName, props } = read({});
    expect(stackName).toBe(DEFAULT_STACK_NAME);
    expect(props.auth?.mode).toBe("api-key");
    expect(props.auth?.allowUnauthenticated).toBe(false);
    expect(props.removalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(props.callerMaxActiveJobs).toBeUndefined();
  });

  it("read jwt settings, lists, numbers and the removal policy as the CLI passes them (strings)", () => {
    const { stackName, props } = read({
      stackName: "Dev",
      authMode: "jwt",
      jwtIssuer: "https://issuer.example.com/",
      jwtAudience: "api://mcp",
      jwtRequiredScopes: "jobs:read, jobs:write",
      allowedOrigins: "https://a.example.com,https://b.example.com",
      callerMaxActiveJobs: "5",
      callerMaxStartsPerMinute: "0",
      jobTtlSeconds: "7200",
      workerMaxConcurrency: "5",
      removalPolicy: "destroy",
    });
    expect(stackName).toBe("Dev");
    expect(props.auth).toMatchObject({
      mode: "jwt",
      jwtIssuer: "https://issuer.example.com/",
      jwtAudience: "api://mcp",
      jwtRequiredScopes: ["jobs:read", "jobs:write"],
    });
    expect(props.allowedOrigins).toEqual(["https://a.example.com", "https://b.example.com"]);
    expect(props.callerMaxActiveJobs).toBe(5);
    expect(props.callerMaxStartsPerMinute).toBe(0);
    expect(props.jobTtl?.toSeconds()).toBe(7200);
    expect(props.workerMaxConcurrency).toBe(5);
    expect(props.removalPolicy).toBe(RemovalPolicy.DESTROY);
  });

  it("reject unknown values with a clear message", () => {
    expect(() => read({ authMode: "basic" })).toThrow(/authMode" must be one of none, api-key, jwt/);
    expect(() => read({ allowUnauthenticated: "yes" })).toThrow(/must be true or false/);
    expect(() => read({ callerMaxActiveJobs: "-1" })).toThrow(/must be a whole number/);
    expect(() => read({ removalPolicy: "snapshot" })).toThrow(/must be retain or destroy/);
  });

  it("opt in to none mode with allowUnauthenticated=true", () => {
    expect(read({ authMode: "none", allowUnauthenticated: "true" }).props.auth).toMatchObject({
      mode: "none",
      allowUnauthenticated: true,
    });
  });
});
