// A real OpenID provider (oidc-provider, a certified implementation) for Pulse's sign-in tests.
//
// Started by tests/sso/provider.py; it listens on a free loopback port and prints one JSON line
// {"issuer": ...} once it answers. Configuration comes from the environment:
//   PULSE_REDIRECT_URI  the one redirect URI of the client "pulse" (secret "pulse-test-secret")
//   ACCOUNTS            JSON {accountId: {email, email_verified, name, groups}}
//   MODE                normal | foreign-keys | tamper | lying-issuer (see below)
//   TAMPER_EMAIL        with MODE=tamper: the address written into the ID token after signing
//
// The login and consent pages are the provider's development interactions: any password is
// accepted for a known account id; the test drives them in a real browser.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const mode = process.env.MODE || 'normal';

function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

const signingKey = rsaJwk('pulse-test-key');
// MODE=foreign-keys publishes a different key under the same key id: every ID token the provider
// signs then fails verification against the keys a relying party fetches (an attacker's signing
// key, or keys swapped in transit).
const foreignKey = rsaJwk('pulse-test-key');
const publicPart = ({ kty, n, e, kid, use, alg }) => ({ kty, n, e, kid, use, alg });

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'pulse',
      client_secret: 'pulse-test-secret',
      redirect_uris: [process.env.PULSE_REDIRECT_URI],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['pulse-test-cookie-key'] },
  scopes: ['openid', 'email', 'profile', 'groups', 'units'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
    units: ['units'],
  },
  // Put the requested claims in the ID token itself (Pulse reads only the ID token).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
});

provider.use(async (ctx, next) => {
  if (mode === 'foreign-keys' && ctx.path === '/jwks') {
    ctx.type = 'application/jwk-set+json';
    ctx.body = { keys: [publicPart(foreignKey)] };
    return;
  }
  await next();
  if (mode === 'lying-issuer' && ctx.path === '/.well-known/openid-configuration') {
    // Discovery claims to be http://localhost:PORT while the tokens say http://127.0.0.1:PORT.
    ctx.body = { ...ctx.body, issuer: `http://localhost:${port}` };
  }
  const location = ctx.response.get('Location');
  if (mode === 'lying-issuer' && location && location.includes('iss=')) {
    // The authorization response's iss parameter (RFC 9207) tells the same lie as discovery, so only
    // the ID token's own iss claim can give the provider away.
    ctx.redirect(location.replace(encodeURIComponent(issuer), encodeURIComponent(`http://localhost:${port}`)));
  }
  if (mode === 'tamper' && ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    // Rewrite the payload and keep the provider's signature: a token altered in transit.
    const [header, payload, signature] = ctx.body.id_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.email = process.env.TAMPER_EMAIL || 'someone.else@acme.test';
    const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
    ctx.body = { ...ctx.body, id_token: `${header}.${forged}.${signature}` };
  }
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
