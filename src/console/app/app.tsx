/**
 * The console's shell: sign-in until there is a session, then the navigation (`DAGs`,
 * `Runs`, `Schedules`, `Health`), the live-stream indicator and the view of the current hash
 * route. A 401 from the API or the stream's TOKEN_EXPIRED ends the session and shows sign-in
 * with the server's message.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api } from './api.js';
import { Ctx } from './parts/context.js';
import { href, useRoute, type Route } from './router.js';
import { clearSession, loadSession, saveSession, type Session } from './session.js';
import { EventStream, type StreamState } from './stream.js';
import { DagView } from './views/dag.js';
import { DagsView } from './views/dags.js';
import { HealthView } from './views/health.js';
import { RunView } from './views/run.js';
import { RunsView } from './views/runs.js';
import { SchedulesView } from './views/schedules.js';
import { SignIn } from './views/signin.js';
import { StartRunView } from './views/start-run.js';
import { StepView } from './views/step.js';

const NAV = [
  ['dags', 'DAGs'],
  ['runs', 'Runs'],
  ['schedules', 'Schedules'],
  ['health', 'Health'],
] as const;

function View({ route }: { route: Route }) {
  const [head, a, b, c, d] = route.path;
  switch (head ?? 'dags') {
    case 'dags':
      return a && b ? <DagView dagId={a} version={b} /> : <DagsView query={route.query} />;
    case 'runs':
      if (a && b === 'steps' && c) return <StepView runId={a} stepId={c} attempt={d} />;
      return a ? <RunView runId={a} /> : <RunsView query={route.query} />;
    case 'start':
      return <StartRunView query={route.query} />;
    case 'schedules':
      return <SchedulesView />;
    case 'health':
      return <HealthView />;
    default:
      return (
        <div>
          <h1>Not found</h1>
          <p>
            There is no page <code>{location.hash}</code>. Go to the <a href={href('dags')}>DAGs</a>.
          </p>
        </div>
      );
  }
}

function StreamBadge({ stream }: { stream: EventStream }) {
  const [state, setState] = useState<StreamState>(stream.state);
  useEffect(() => stream.onState((s) => setState(s)), [stream]);
  const text = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : state === 'reconnecting' ? 'Reconnecting…' : 'Offline';
  return (
    <span class={`stream stream-${state}`} role="status" aria-live="polite" title="Live updates through the event stream">
      {text}
    </span>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [notice, setNotice] = useState<string | undefined>();
  const route = useRoute();

  const ctx = useMemo(() => {
    if (!session) return null;
    const end = (message: string) => {
      clearSession();
      setNotice(message);
      setSession(null);
    };
    const api = new Api(session, end);
    return { api, session, stream: new EventStream(api, end) };
  }, [session]);

  useEffect(() => {
    if (!ctx) return;
    ctx.stream.start();
    return () => ctx.stream.stop();
  }, [ctx]);

  if (!session || !ctx) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s);
          setNotice(undefined);
          setSession(s);
        }}
      />
    );
  }
  const current = route.path[0] === 'start' ? 'runs' : route.path[0] ?? 'dags';
  const signOut = () => {
    clearSession();
    setNotice(undefined);
    setSession(null);
  };
  return (
    <Ctx.Provider value={ctx}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('dags')}>
          Stella Orchestrator
        </a>
        <nav aria-label="Main">
          {NAV.map(([key, label]) => (
            <a key={key} href={href(key)} aria-current={current === key ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who">
          <StreamBadge stream={ctx.stream} />
          <span class="tenant" title={`signed in as ${session.claims.subject ?? 'unknown'}`}>
            tenant <strong>{session.tenant}</strong>
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <View route={route} />
      </main>
    </Ctx.Provider>
  );
}
