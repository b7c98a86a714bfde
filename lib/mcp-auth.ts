import { Annotations, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";

import { AUTH_MODES, type AuthMode } from "../lambdas/shared/config/functions.js";

export { AUTH_MODES, type AuthMode };

/** The key under which the generated API key sits in the secret's JSON (`{"default":"<key>"}`). */
export const DEFAULT_API_KEY_NAME = "default";

export interface McpAuthProps {
  /**
   * How callers prove who they are:
   * - `api-key`: a bearer key from a generated Secrets Manager secret (`{"default":"<key>"}`);
   *   add more named keys to the secret's JSON to give each client its own.
   * - `jwt`: an OAuth 2.1 access token (a JWT) from your authorization server.
   * - `none`: anyone with the URL; only with `allowUnauthenticated: true`.
   * @default "api-key"
   */
  readonly mode?: AuthMode;
  /** Required in `jwt` mode: the `iss` the tokens must carry (an https URL). */
  readonly jwtIssuer?: string;
  /** Required in `jwt` mode: the `aud` the tokens must carry (usually the MCP URL or an API identifier). */
  readonly jwtAudience?: string;
  /** @default - discovered from the issuer's metadata by the function */
  readonly jwtJwksUrl?: string;
  /** Scopes every token must hold. @default - none */
  readonly jwtRequiredScopes?: readonly string[];
  /**
   * Authorization servers announced in the protected resource metadata.
   * @default - the function's default (the issuer)
   */
  readonly jwtAuthorizationServers?: readonly string[];
  /**
   * The explicit opt-in `none` mode requires: anyone who finds the URL can start jobs.
   * @default false
   */
  readonly allowUnauthenticated?: boolean;
  /**
   * What happens to the API key secret when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The MCP function's caller authentication. It checks the configuration at synth time, so a
 * deployment can never come up half-configured, creates what the mode needs (the API key secret) and
 * hands it to the function in `bind`.
 */
export class McpAuth extends Construct {
  public readonly mode: AuthMode;
  /** The secret holding the API keys (`api-key` mode only). */
  public readonly apiKeysSecret?: Secret;
  private readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: McpAuthProps = {}) {
    super(scope, id);
    const mode = props.mode ?? "api-key";
    if (!AUTH_MODES.includes(mode)) {
      throw new Error(`authMode must be one of ${AUTH_MODES.join(", ")}; got "${String(mode)}"`);
    }
    this.mode = mode;
    const environment: Record<string, string> = { [ENV.authMode]: mode };

    switch (mode) {
      case "api-key": {
        this.apiKeysSecret = new Secret(this, "ApiKeys", {
          description: `API keys for the MCP endpoint of ${Stack.of(this).stackName}: {"<client name>": "<key>"}`,
          generateSecretString: {
            secretStringTemplate: JSON.stringify({}),
            generateStringKey: DEFAULT_API_KEY_NAME,
            passwordLength: 48,
            excludePunctuation: true,
          },
          removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        });
        Validations.of(this.apiKeysSecret).acknowledge({
          id: "AwsSolutions-SMG4",
          reason:
            "The API key is a static bearer credential configured in every MCP client; scheduled rotation " +
            "would lock all clients out at once. Rotate by adding a new named key to the JSON, moving the " +
            "clients over, then deleting the old key.",
        });
        environment[ENV.apiKeysSecretArn] = this.apiKeysSecret.secretArn;
        break;
      }
      case "jwt": {
        const missing = [
          props.jwtIssuer ? undefined : "jwtIssuer",
          props.jwtAudience ? undefined : "jwtAudience",
        ].filter((name) => name !== undefined);
        if (missing.length > 0) {
          throw new Error(
            `authMode "jwt" needs ${missing.join(" and ")}: deploy with ` +
              "-c authMode=jwt -c jwtIssuer=https://<your issuer>/ -c jwtAudience=<expected aud>",
          );
        }
        environment[ENV.jwtIssuer] = requireHttpsUrl("jwtIssuer", props.jwtIssuer ?? "");
        environment[ENV.jwtAudience] = props.jwtAudience ?? "";
        if (props.jwtJwksUrl) environment[ENV.jwtJwksUrl] = requireHttpsUrl("jwtJwksUrl", props.jwtJwksUrl);
        if (props.jwtRequiredScopes?.length)
          environment[ENV.jwtRequiredScopes] = props.jwtRequiredScopes.join(",");
        if (props.jwtAuthorizationServers?.length) {
          for (const url of props.jwtAuthorizationServers) requireHttpsUrl("jwtAuthorizationServers", url);
          environment[ENV.jwtAuthorizationServers] = props.jwtAuthorizationServers.join(",");
        }
        break;
      }
      case "none": {
        if (props.allowUnauthenticated !== true) {
          throw new Error(
            'authMode "none" makes the MCP endpoint public: anyone with the URL can start jobs on your ' +
              "account. If that is really what you want, add -c allowUnauthenticated=true.",
          );
        }
        Annotations.of(Stack.of(this)).addWarningV2(
          "mcp-async-jobs:unauthenticated",
          'UNAUTHENTICATED: authMode is "none". Anyone who learns the MCP URL can start jobs and read ' +
            "every job started without credentials. Use it for short-lived experiments only.",
        );
        break;
      }
    }
    this.environment = environment;
  }

  /** Sets the auth variables on `fn` and lets it read the API key secret (and nothing else grants that). */
  public bind(fn: LambdaFunction): void {
    for (const [name, value] of Object.entries(this.environment)) fn.addEnvironment(name, value);
    this.apiKeysSecret?.grantRead(fn);
  }
}

function requireHttpsUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an https URL; got "${value}"`);
  }
  if (url.protocol !== "https:") throw new Error(`${name} must be an https URL; got "${value}"`);
  return value;
}
