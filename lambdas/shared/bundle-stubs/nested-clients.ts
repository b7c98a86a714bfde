/**
 * Stands in for `@aws-sdk/nested-clients` (STS, SSO, SSO OIDC and sign-in) in the Lambda bundles
 * (an esbuild alias, lib/lambda-function.ts). The SDK's credential chain reaches them only for
 * profiles, SSO and web-identity tokens; Lambda hands a function its role's credentials in the
 * environment, which the chain reads first, so these clients never run in a function. Leaving them
 * out saves about 58 KiB of bundle that every cold start would parse.
 */
function notBundled(what: string): never {
  throw new Error(
    `${what} is not bundled in this function: it reads the credentials Lambda puts in its environment.`,
  );
}

class NotBundledClient {
  constructor() {
    notBundled("This AWS credential source");
  }
}

export const STSClient = NotBundledClient;
export const SSOClient = NotBundledClient;
export const SSOOIDCClient = NotBundledClient;
export const SigninClient = NotBundledClient;
export const GetRoleCredentialsCommand = NotBundledClient;
export const CreateTokenCommand = NotBundledClient;
export const CreateOAuth2TokenCommand = NotBundledClient;

export function getDefaultRoleAssumer(): never {
  return notBundled("Assuming a role from a profile");
}

export function getDefaultRoleAssumerWithWebIdentity(): never {
  return notBundled("A web-identity token");
}
