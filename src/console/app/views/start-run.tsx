/**
 * Start a run: choose a DAG and version (default: the newest active version, as the API
 * does without `version`), fill in the form generated from that version's `inputsSchema`,
 * `Start run`. The API's answer (INPUTS_INVALID and its details included) is shown as is;
 * on success the run's page opens.
 */
import { useLayoutEffect, useMemo, useState } from 'preact/hooks';
import { ApiFailure, type List } from '../api.js';
import { useApp, useLoad } from '../parts/context.js';
import { ErrorBox, Loading, Title } from '../parts/ui.js';
import { href, navigate } from '../router.js';
import { formOf, initialValues, toInputs, type Field } from '../schema-form.js';
import type { DagSummary, DagVersion, Run } from '../types.js';

function FieldInput({ f, value, onChange, error }: { f: Field; value: string | boolean; onChange(v: string | boolean): void; error?: string }) {
  const id = `in-${f.name}`;
  const describedBy = [f.description ? `${id}-d` : '', error ? `${id}-e` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, name: f.name, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined, required: f.required };
  let input;
  if (f.kind === 'boolean') input = <input type="checkbox" {...common} required={false} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />;
  else if (f.kind === 'enum')
    input = (
      <select {...common} value={String(value)} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{f.required ? '(choose)' : '(none)'}</option>
        {f.options!.map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  else if (f.kind === 'json') input = <textarea {...common} rows={4} spellcheck={false} value={String(value)} onInput={(e) => onChange(e.currentTarget.value)} placeholder="JSON" />;
  else if (f.kind === 'string') input = <input {...common} type="text" value={String(value)} onInput={(e) => onChange(e.currentTarget.value)} />;
  else input = <input {...common} type="number" step={f.kind === 'integer' ? 1 : 'any'} value={String(value)} onInput={(e) => onChange(e.currentTarget.value)} />;
  return (
    <div class={`field field-${f.kind}`}>
      <label for={id}>
        {f.name}
        {f.required ? <span aria-hidden="true"> *</span> : null}
        {f.kind === 'json' || f.kind === 'integer' || f.kind === 'number' ? <span class="muted small"> ({f.kind === 'json' ? 'JSON' : f.kind})</span> : null}
      </label>
      {input}
      {f.description ? <div id={`${id}-d`} class="muted small">{f.description}</div> : null}
      {error ? <div id={`${id}-e`} class="field-error">{error}</div> : null}
    </div>
  );
}

export function StartRunView({ query }: { query: URLSearchParams }) {
  const { api } = useApp();
  const dagId = query.get('dagId') ?? '';
  const version = query.get('version') ?? '';
  const dags = useLoad((signal) => api.get<List<DagSummary>>('/dags', { active: true, page_size: 500 }, signal), []);
  const versions = (dags.data?.items ?? []).filter((d) => d.dagId === dagId);
  const target = version || versions[0]?.version || '';
  const def = useLoad(
    (signal) => (dagId && target ? api.get<DagVersion>(`/dags/${encodeURIComponent(dagId)}/${encodeURIComponent(target)}`, undefined, signal) : Promise.resolve(null)),
    [dagId, target],
  );
  const form = useMemo(() => (def.data ? formOf(def.data.inputsSchema) : null), [def.data]);
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  // A new form (another DAG or version) starts from its initial values. In a layout effect,
  // which runs in the same commit that shows the form's fields: a passive effect runs later, so
  // on a busy machine what the user typed first was wiped by it.
  useLayoutEffect(() => {
    if (form) setValues(initialValues(form));
    setErrors({});
    setFailure(null);
  }, [form]);

  const ids = [...new Set((dags.data?.items ?? []).map((d) => d.dagId))];
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!form || !dagId) return;
    const { inputs, errors: errs } = toInputs(form, values);
    setErrors(errs);
    const firstBad = Object.keys(errs)[0];
    if (firstBad !== undefined) return document.getElementById(`in-${firstBad}`)?.focus();
    setBusy(true);
    setFailure(null);
    try {
      const run = await api.post<Run>('/runs', { dagId, ...(version ? { version } : {}), inputs });
      navigate(href('runs', run.runId));
    } catch (err) {
      setFailure(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const details = failure instanceof ApiFailure && failure.details ? JSON.stringify(failure.details) : null;
  return (
    <section>
      <Title>Start a run</Title>
      {dags.error ? <ErrorBox error={dags.error} what="Could not list DAGs" /> : null}
      {!dags.data && !dags.error ? <Loading what="DAGs" /> : null}
      {dags.data ? (
        <form class="card form" onSubmit={submit} aria-label="Start a run" noValidate>
          <div class="field">
            <label for="run-dag">DAG</label>
            <select id="run-dag" value={dagId} onChange={(e) => navigate(href('start', { dagId: e.currentTarget.value }))}>
              <option value="">(choose a DAG)</option>
              {ids.map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
          </div>
          {dagId ? (
            <div class="field">
              <label for="run-version">Version</label>
              <select id="run-version" value={version} onChange={(e) => navigate(href('start', { dagId, version: e.currentTarget.value || undefined }))}>
                <option value="">newest active{versions[0] ? ` (${versions[0].version})` : ''}</option>
                {versions.map((v) => (
                  <option key={v.version} value={v.version}>
                    {v.version}
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          {def.error ? <ErrorBox error={def.error} what="Could not load the DAG" /> : null}
          {form ? (
            <fieldset>
              <legend>Inputs</legend>
              {form.fields.map((f) => (
                <FieldInput key={f.name} f={f} value={values[f.name] ?? ''} error={errors[f.name]} onChange={(v) => setValues((old) => ({ ...old, [f.name]: v }))} />
              ))}
            </fieldset>
          ) : null}
          {failure ? <ErrorBox error={failure} what="The run was not started" /> : null}
          {details ? <pre class="json small">{details}</pre> : null}
          <button type="submit" class="primary" disabled={!form || busy}>
            Start run
          </button>
        </form>
      ) : null}
    </section>
  );
}
