// A real OpenID provider (panva/oidc-provider) for the sign-in tests; never for production.
//
// Configured by one JSON argument:
//   {"issuer": "http://localhost:PORT", "port": PORT,
//    "client": {"client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris"},
//    "accounts": {"<login>": {"name": "...", "groups": ["..."]}}}
// One confidential client (authorization code flow, PKCE with S256 required). Its own small
// sign-in page accepts any listed login (no password) or "Cancel" (the user declines: the
// client gets error=access_denied); consent is granted for the one client without asking.
// ID tokens carry the user's "groups" claim. Prints "ready" once it listens.

import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const accounts = config.accounts;

const signingKey = crypto
  .generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;

const provider = new Provider(config.issuer, {
  clients: [
    {
      ...config.client,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  jwks: { keys: [{ ...signingKey, kid: 'test-key-1', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'groups'],
  // put the claims of the granted scopes (groups) in the ID token, as Entra ID does
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page(
          'Sign out of the test provider?',
          `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`,
        );
      },
    },
  },
  async findAccount(_ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: accounts[id].name, groups: accounts[id].groups };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    // first-party client: consent without asking
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile groups');
    await grant.save();
    return grant;
  },
});

const readForm = async (req) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
};

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page('Sign in to the test provider', `
<form method="post">
  <label for="login">Login</label>
  <input id="login" name="login" type="text" autocomplete="off">
  <button type="submit" name="action" value="login">Sign in</button>
  <button type="submit" name="action" value="cancel">Cancel</button>
</form>`));
    return;
  }
  const form = await readForm(req);
  const login = form.get('login') ?? '';
  let result;
  if (form.get('action') === 'cancel') {
    result = { error: 'access_denied', error_description: 'the user cancelled' };
  } else if (Object.hasOwn(accounts, login)) {
    result = { login: { accountId: login } };
  } else {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page('Unknown login', '<p>No such test account. Go back and try again.</p>'));
    return;
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)/.exec(req.url);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1]).catch((err) => {
    res.statusCode = 400;
    res.end(String(err.message));
  });
});
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
