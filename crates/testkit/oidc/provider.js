// A real OpenID Connect provider for Palisade's tests: panva's certified `oidc-provider`
// listening on 127.0.0.1, with the clients and users of a JSON config (the file named by the
// first argument, or the PALISADE_OIDC_CONFIG environment variable):
//
//   { "port": 0,
//     "clients": [{ "client_id": "...", "client_secret": "...", "redirect_uris": ["http://127.0.0.1/login/oidc/callback"] }],
//     "users": [{ "login": "ann", "password": "pw", "email": "ann@school.test", "email_verified": true }] }
//
// Clients are native-app clients, so a loopback redirect URI matches on any port (RFC 8252):
// the Palisade under test listens on a port chosen at its start. The login is a plain HTML
// form at /interaction/UID (fields `login` and `password`); consent is given at once. Prints
// `OIDC provider at URL` once listening.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const source = process.argv[2] ? fs.readFileSync(process.argv[2], 'utf8') : process.env.PALISADE_OIDC_CONFIG;
if (!source) {
  console.error('usage: node provider.js CONFIG.json (or PALISADE_OIDC_CONFIG)');
  process.exit(2);
}
const config = JSON.parse(source);
// The test may stop reading: its notices are not worth dying for.
process.stdout.on('error', () => {});
const users = new Map((config.users || []).map((u) => [u.login, u]));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = http.createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' };
  const provider = new Provider(issuer, {
    clients: (config.clients || []).map((c) => ({
      application_type: 'native',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const u = [...users.values()].find((x) => (x.sub || x.login) === sub);
      if (!u) return undefined;
      return {
        accountId: sub,
        async claims() {
          const out = { sub, name: u.name || u.login };
          if (u.email !== undefined) out.email = u.email;
          if (u.email_verified !== undefined) out.email_verified = u.email_verified;
          return out;
        },
      };
    },
  });
  provider.proxy = false;
  const callback = provider.callback();

  const loginForm = (uid, error) => `<!doctype html><html><head><title>Test provider sign-in</title></head><body>
<h1>School account</h1>${error ? `<p id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input id="login" name="login" autofocus></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="submit" type="submit">Sign in</button></form></body></html>`;

  const readForm = (req) => new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (c) => { body += c; if (body.length > 65536) req.destroy(); });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });

  server.on('request', async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
      if (!m) return callback(req, res);
      const details = await provider.interactionDetails(req, res);
      const { prompt, params, session, grantId } = details;
      if (prompt.name === 'login') {
        if (req.method === 'POST' && m[2]) {
          const form = await readForm(req);
          const user = users.get(form.get('login') || '');
          if (!user || user.password !== form.get('password')) {
            res.writeHead(200, { 'content-type': 'text/html' });
            return res.end(loginForm(details.uid, 'Wrong login or password'));
          }
          return provider.interactionFinished(req, res, { login: { accountId: user.sub || user.login } }, { mergeWithLastSubmission: false });
        }
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(loginForm(details.uid));
      }
      // Consent: granted at once, for what the client asked.
      const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      const id = await grant.save();
      return provider.interactionFinished(req, res, { consent: { grantId: id } }, { mergeWithLastSubmission: true });
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err && err.message));
    }
  });
  console.log(`OIDC provider at ${issuer}`);
});
