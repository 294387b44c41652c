/** What every view needs: the API client, the live stream and the session; plus data hooks. */
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import type { Session } from '../session.js';
import type { EventStream } from '../stream.js';
import type { RunEvent } from '../types.js';

export interface AppContext {
  api: Api;
  stream: EventStream;
  session: Session;
}

export const Ctx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const c = useContext(Ctx);
  if (!c) throw new Error('useApp outside the signed-in app');
  return c;
}

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload(): void;
}

/**
 * Loads data when `deps` change; `reload()` fetches again and keeps the old data on screen
 * meanwhile (no flicker on live updates). Answers of superseded loads are dropped.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const key = JSON.stringify(deps);
  const [state, setState] = useState<{ key?: string; data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ key, data, loading: false }),
      (error: Error) =>
        !ctl.signal.aborted && error.name !== 'AbortError' && setState((s) => ({ key, data: s.key === key ? s.data : undefined, error, loading: false })),
    );
    return () => ctl.abort();
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // Data of other deps (the previous page or run) is never shown as this one's.
  if (state.key !== key) return { loading: true, reload };
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/**
 * Calls `onChange` (at most every `ms`, trailing) for each stream event that `match` accepts,
 * and whenever the stream (re)connects without being able to replay what it missed.
 */
export function useLive(match: (e: RunEvent) => boolean, onChange: () => void, deps: unknown[], ms = 250): void {
  const { stream } = useApp();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fire = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        onChange();
      }, ms);
    };
    const offEvents = stream.on((e) => match(e) && fire());
    const offState = stream.onState((s, resumed) => s === 'live' && !resumed && fire());
    return () => {
      offEvents();
      offState();
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stream, ...deps]);
}
