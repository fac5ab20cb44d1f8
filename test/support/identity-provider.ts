import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { SignJWT, base64url } from 'jose';
import { generateSigningKey, jwksOf, JWKS_PATH, mintToken, type SigningAlgorithm, type SigningKey } from '../../src/tools/dev-identity.js';

export interface TokenOptions {
  scope?: string;
  alg?: SigningAlgorithm;
  /** Sign with this key instead of the published one of `alg` (it need not be published). */
  key?: SigningKey;
  issuer?: string;
  audience?: string;
  ttlSeconds?: number;
  notBeforeSeconds?: number;
}

/**
 * The identity service, in the test process: an HTTP server publishing a JWKS of keys generated for this run,
 * counting its fetches, and able to be down (503) or to publish more keys (rotation). Mints tokens with them.
 */
export class TestIdentityProvider {
  readonly issuer = 'https://identity.test';
  readonly audience = 'order-service-test';
  /** GETs of the JWKS served so far (answered or not). */
  fetches = 0;
  /** While true, the JWKS answers 503. */
  down = false;
  private published: SigningKey[];

  private constructor(
    private readonly server: Server,
    readonly keys: Record<SigningAlgorithm, SigningKey>,
  ) {
    this.published = [keys.ES256, keys.RS256];
  }

  static async start(options: { down?: boolean } = {}): Promise<TestIdentityProvider> {
    const keys = { ES256: await generateSigningKey('ES256'), RS256: await generateSigningKey('RS256') };
    let provider: TestIdentityProvider | undefined;
    const server = createServer((req, res) => provider!.answer(req.url ?? '', res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    provider = new TestIdentityProvider(server, keys);
    provider.down = options.down ?? false;
    return provider;
  }

  get jwksUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}${JWKS_PATH}`;
  }

  /** The settings that point the service at this provider. */
  authEnv(extra: Record<string, string> = {}): Record<string, string> {
    return { AUTH_JWKS_URL: this.jwksUrl, AUTH_ISSUER: this.issuer, AUTH_AUDIENCE: this.audience, ...extra };
  }

  /** Publishes another key from now on (a rotation's new key). */
  publish(key: SigningKey): void {
    this.published = [...this.published, key];
  }

  token(sub: string, options: TokenOptions = {}): Promise<string> {
    return mintToken(options.key ?? this.keys[options.alg ?? 'ES256'], {
      sub,
      scope: options.scope ?? '',
      issuer: options.issuer ?? this.issuer,
      audience: options.audience ?? this.audience,
      ttlSeconds: options.ttlSeconds ?? 300,
      ...(options.notBeforeSeconds === undefined ? {} : { notBeforeSeconds: options.notBeforeSeconds }),
    });
  }

  /** An unsigned token (`alg: none`) with otherwise valid claims. */
  unsignedToken(sub: string, scope: string): string {
    const now = Math.floor(Date.now() / 1000);
    const part = (value: object) => base64url.encode(JSON.stringify(value));
    return `${part({ alg: 'none', typ: 'at+jwt' })}.${part({ sub, scope, iss: this.issuer, aud: this.audience, iat: now, exp: now + 300 })}.`;
  }

  /** An HS256 token "signed" with the published ES256 key's public JWK as the secret (algorithm confusion). */
  hmacToken(sub: string, scope: string): Promise<string> {
    const secret = new TextEncoder().encode(JSON.stringify(this.keys.ES256.publicJwk));
    return new SignJWT({ scope })
      .setProtectedHeader({ alg: 'HS256', kid: this.keys.ES256.kid })
      .setSubject(sub)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(url: string, res: import('node:http').ServerResponse): void {
    if (url !== JWKS_PATH) return void res.writeHead(404).end();
    this.fetches++;
    if (this.down) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(this.published)));
  }
}
