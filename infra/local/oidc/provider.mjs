// The local stack's OpenID Connect provider (oidc-provider, certified), so
// the inbox signs people in exactly as it would against Entra ID or
// Keycloak: authorization code with PKCE for the web page, RFC 9068 JWT
// access tokens for the API, keys from a JWKS that can rotate.
//
// Env: OIDC_PORT, OIDC_ISSUER, OIDC_USERS, OIDC_CLIENTS, OIDC_KEYS (a
// private JWKS, created on first start), OIDC_PASSWORD (every local user's).
// `node provider.mjs --rotate-key` puts a new signing key first in
// OIDC_KEYS; the old one stays published until removed from the file.
import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const env = process.env;
const PORT = Number(env.OIDC_PORT || 8780);
const ISSUER = env.OIDC_ISSUER || `http://127.0.0.1:${PORT}`;
// A resource indicator must be an absolute URI; the token's audience is the plain name.
const RESOURCE = 'urn:intake-inbox-api';
const AUDIENCE = 'intake-inbox-api';
const API_SCOPE = 'inbox';
const PASSWORD = Buffer.from(env.OIDC_PASSWORD || '');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

const users = readJson(env.OIDC_USERS);
const clients = readJson(env.OIDC_CLIENTS);
const findUser = (sub) => users.find((u) => u.sub === sub);
const appClaims = (u) => ({ roles: u.roles ?? [], units: u.units ?? [], delegate_of: u.delegate_of });

const KEYS = env.OIDC_KEYS;
const jwks = existsSync(KEYS) ? readJson(KEYS) : { keys: [] };
const rotate = process.argv.includes('--rotate-key');
if (!jwks.keys.length || rotate) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  jwks.keys.unshift({ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' });
  writeFileSync(KEYS, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  console.log(`${KEYS}: signing key ${jwks.keys[0].kid} (${jwks.keys.length} in the file)`);
  if (rotate) process.exit(0);
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title></head>
<body><main>${body}</main></body></html>`;
const loginPage = (uid, error, username) => page('Sign in', `<h1>Sign in to the intake inbox</h1>
<p>Local identity provider. Users: ${users.map((u) => `<code>${esc(u.sub)}</code>`).join(', ')}.</p>
${error ? `<p role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}">
<p><label for="username">Username</label><br><input id="username" name="username" autocomplete="username" required autofocus value="${esc(username)}"></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>`);

const provider = new Provider(ISSUER, {
  clients,
  jwks,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  responseTypes: ['code'],
  pkce: { required: () => true },
  claims: { openid: ['sub', 'roles', 'units', 'delegate_of'], profile: ['name'] },
  // No userinfo endpoint: the claims travel in the ID token.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    const u = findUser(sub);
    return u && { accountId: u.sub, claims: () => ({ sub: u.sub, name: u.name, ...appClaims(u) }) };
  },
  // RFC 9068 tokens carry no user claims by themselves: the API needs the app roles.
  async extraTokenClaims(ctx, token) {
    const u = token.accountId && findUser(token.accountId);
    return u ? { name: u.name, ...appClaims(u) } : undefined;
  },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: false },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: (ctx, form) => {
        ctx.body = page('Sign out', `<h1>Sign out?</h1>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>`);
      },
      postLogoutSuccessSource: (ctx) => { ctx.body = page('Signed out', '<h1>You are signed out.</h1>'); },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== RESOURCE) throw new errors.InvalidTarget();
        return { scope: API_SCOPE, audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 900, jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  ttl: { AccessToken: 900, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600 },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Sign-in failed</h1><p>${esc(out.error)}: ${esc(out.error_description)}</p>`);
  },
});

const send = (res, status, html) => {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  });
  res.end(html);
};
const readForm = async (req) => {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
};
const passwordOk = (given) => {
  const g = Buffer.from(given ?? '');
  return PASSWORD.length > 0 && g.length === PASSWORD.length && timingSafeEqual(g, PASSWORD);
};

// The login form, and consent granted at once: every client here is the agency's own.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (prompt.name === 'login') {
    if (req.method !== 'POST') return send(res, 200, loginPage(uid));
    const form = await readForm(req);
    const user = findUser(form.get('username'));
    if (!user || !passwordOk(form.get('password'))) {
      return send(res, 401, loginPage(uid, 'Wrong username or password.', form.get('username')));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
createServer((req, res) => {
  if (!req.url.startsWith('/interaction/')) return callback(req, res);
  interaction(req, res).catch((err) => send(res, 400, page('Error', `<h1>Sign-in failed</h1><p>${esc(err.error_description || err.message)}</p>`)));
}).listen(PORT, '127.0.0.1', () => console.log(`ready: issuer ${ISSUER}`));
