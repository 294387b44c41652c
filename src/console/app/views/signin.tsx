/**
 * Sign-in: paste a bearer token, pick one of its tenants, `Sign in`. The token is checked by
 * the API itself (one `GET /dags`) before it is kept, in sessionStorage only. Under `--dev`
 * the page carries `<meta name="stella-dev-signin">` and offers a one-click dev sign-in.
 */
import { useMemo, useState } from 'preact/hooks';
import { Api, ApiFailure } from '../api.js';
import { readClaims } from '../claims.js';
import type { Session } from '../session.js';

export interface SignInProps {
  /** Why the last session ended (the API's message), shown above the form. */
  notice?: string;
  onSignedIn(s: Session): void;
}

async function check(token: string, tenant: string): Promise<Session> {
  const claims = readClaims(token);
  if ('error' in claims) throw new Error(claims.error);
  const session = { token, tenant, claims };
  await new Api(session, () => {}).get('/dags', { page_size: 1 });
  return session;
}

function devSignInPath(): string | null {
  return document.querySelector('meta[name="stella-dev-signin"]')?.getAttribute('content') ?? null;
}

export function SignIn({ notice, onSignedIn }: SignInProps) {
  const [token, setToken] = useState('');
  const [tenant, setTenant] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const claims = useMemo(() => (token.trim() ? readClaims(token.trim()) : null), [token]);
  const tenants = claims && !('error' in claims) ? claims.tenants : null;
  const chosen = tenant || (Array.isArray(tenants) && tenants.length > 0 ? tenants[0]! : '');
  const dev = devSignInPath();

  const attempt = async (fn: () => Promise<Session>) => {
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await fn());
    } catch (e) {
      setError(e instanceof ApiFailure ? `${e.code}: ${e.message}` : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const submit = (ev: Event) => {
    ev.preventDefault();
    if (!token.trim()) return setError('Paste a token first.');
    if (!chosen) return setError('Choose a tenant.');
    void attempt(() => check(token.trim(), chosen));
  };

  const devSignIn = () =>
    attempt(async () => {
      const res = await fetch(dev!, { method: 'POST', cache: 'no-store' });
      if (!res.ok) throw new Error(`dev sign-in failed (${res.status})`);
      const body = (await res.json()) as { token: string; tenant: string };
      return check(body.token, body.tenant);
    });

  return (
    <main id="main" class="signin">
      <h1>Stella Orchestrator</h1>
      <p class="muted">Sign in with a bearer token. It stays in this tab only (sessionStorage) and is sent to this server's API alone.</p>
      {notice ? (
        <div class="error" role="alert">
          Signed out: {notice}
        </div>
      ) : null}
      <form onSubmit={submit} class="card" aria-label="Sign in">
        <label for="token">Token</label>
        <textarea id="token" name="token" rows={5} autocomplete="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} aria-describedby="token-help" />
        <div id="token-help" class="muted small">
          {claims && 'error' in claims ? (
            claims.error
          ) : claims ? (
            `subject ${claims.subject ?? '—'}, scopes ${claims.scopes.join(' ') || '—'}`
          ) : (
            <>
              A JWT from your identity provider (or <code>orchestrator token</code> in dev mode).
            </>
          )}
        </div>
        <label for="tenant">Tenant</label>
        {tenants === '*' || tenants === null ? (
          <input id="tenant" name="tenant" value={tenant} onInput={(e) => setTenant(e.currentTarget.value)} autocomplete="off" placeholder={tenants === '*' ? 'any tenant' : ''} />
        ) : (
          <select id="tenant" name="tenant" value={chosen} onChange={(e) => setTenant(e.currentTarget.value)}>
            {tenants.length === 0 ? <option value="">(the token names no tenant)</option> : null}
            {tenants.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        )}
        {error ? (
          <div class="error" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      {dev ? (
        <div class="card dev">
          <p>
            <strong>Dev mode.</strong> This server runs with <code>--dev</code>: it can hand this page an admin token for tenant <code>demo</code>.
          </p>
          <button type="button" onClick={devSignIn} disabled={busy}>
            Dev sign-in (tenant demo)
          </button>
        </div>
      ) : null}
    </main>
  );
}
