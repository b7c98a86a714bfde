import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export interface TestIssuer {
  /** `http://127.0.0.1:<port>`: the `iss` of its tokens. */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** JWKS and discovery requests served so far. */
  readonly requests: string[];
  /** A token signed by the issuer's key: `iss` and a 5-minute `exp` unless `claims` say otherwise. */
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  /** Sign with this key instead of the published one. */
  readonly key?: CryptoKey;
  readonly kid?: string;
  readonly alg?: string;
}

/**
 * A tiny OAuth issuer on loopback: it publishes one RS256 public key as a JWKS and an OpenID
 * discovery document, and signs tokens with the private half.
 */
export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  const requests: string[] = [];
  let issuer = "";
  const server = createServer((request, response) => {
    requests.push(request.url ?? "");
    const send = (body: unknown): void => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.url === "/jwks.json") return send({ keys: [jwk] });
    if (request.url === "/.well-known/openid-configuration") {
      return send({ issuer, jwks_uri: `${issuer}/jwks.json` });
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/jwks.json`,
    requests,
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid ?? "test-key", typ: "at+jwt" })
        .sign(options.key ?? privateKey);
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An unsigned token (`alg: none`), as an attacker would forge it. */
export function unsignedToken(claims: JWTPayload): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`;
}

/** An HS256 token signed with `secret`: refused, since only asymmetric algorithms are accepted. */
export async function hmacToken(claims: JWTPayload, secret: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", kid: "test-key" })
    .sign(new TextEncoder().encode(secret));
}
