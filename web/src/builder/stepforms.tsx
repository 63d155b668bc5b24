// The settings of each step kind: call (operation, connection, inputs from
// its schema), set, if, switch, foreach, wait, respond, fail, subflow, and
// retry/timeout for calls and subflows.
import type { Document } from "yaml";
import { deleteStep, insertStep, renameKey } from "./edits";
import { findOp, type Catalog, type JSONSchema } from "./catalog";
import { KVRows, SelectField, TextField, ValueField, literal, show } from "./fields";
import type { Graph, Path, StepNode } from "./model";
import { SchemaForm } from "./schemaform";

export interface FormCtx {
  graph: Graph;
  catalog: Catalog;
  set(path: Path, v: unknown): void;
  apply(fn: (doc: Document, g: Graph) => unknown): void;
  problemsAt(path: Path): string[];
  readOnly: boolean;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);

function MapRows({ c, legend, path, value, env, keyPlaceholder }: { c: FormCtx; legend: string; path: Path; value: unknown; env: JSONSchema; keyPlaceholder?: string }) {
  return (
    <KVRows
      legend={legend}
      value={obj(value)}
      env={env}
      disabled={c.readOnly}
      keyPlaceholder={keyPlaceholder}
      onSet={(k, v) => c.set([...path, k], v)}
      onRename={(a, b) => c.apply((doc) => renameKey(doc, path, a, b))}
      onRemove={(k) => c.set([...path, k], undefined)}
      problemsFor={(k) => c.problemsAt([...path, k])}
    />
  );
}

function RetryTimeout({ c, s }: { c: FormCtx; s: StepNode }) {
  const r = obj(s.value.retry) ?? {};
  const num = (t: string) => (t.trim() === "" ? undefined : literal(t));
  return (
    <fieldset className="group">
      <legend>Timeout and retries</legend>
      <TextField label="timeout" value={show(s.value.timeout)} placeholder="30s" description="a duration: 500ms, 10s, 2m" problems={c.problemsAt([...s.path, "timeout"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "timeout"], v || undefined)} />
      <div className="row3">
        <TextField label="max attempts" value={show(r.max_attempts)} placeholder="3" problems={c.problemsAt([...s.path, "retry", "max_attempts"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "retry", "max_attempts"], num(v))} />
        <TextField label="backoff" value={show(r.backoff)} placeholder="200ms" problems={c.problemsAt([...s.path, "retry", "backoff"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "retry", "backoff"], v || undefined)} />
        <TextField label="max backoff" value={show(r.max_backoff)} placeholder="30s" problems={c.problemsAt([...s.path, "retry", "max_backoff"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "retry", "max_backoff"], v || undefined)} />
      </div>
    </fieldset>
  );
}

export function CallForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  const f = findOp(c.catalog, s.call);
  const ops = c.catalog.connectors.flatMap((x) => x.operations.map((o) => `${x.name}.${o.name}`));
  const conns = c.catalog.connections.filter((x) => !f || x.connector === f.connector.name);
  const setOp = (op: string) =>
    c.apply((doc) => {
      doc.setIn([...s.path, "call"], op);
      const nf = findOp(c.catalog, op);
      const cur = c.catalog.connections.find((x) => x.name === s.connection);
      if (nf && (!cur || cur.connector !== nf.connector.name)) {
        const pick = c.catalog.connections.find((x) => x.connector === nf.connector.name);
        if (pick) doc.setIn([...s.path, "connection"], pick.name);
        else if (s.connection) doc.deleteIn([...s.path, "connection"]);
      }
    });
  return (
    <>
      <TextField
        label="operation"
        value={s.call ?? ""}
        required
        mono
        description={f ? f.op.title || f.op.description : c.catalog.loading ? "loading the catalog…" : s.call ? "not in the catalog" : "connector.operation"}
        problems={c.problemsAt([...s.path, "call"])}
        disabled={c.readOnly}
        onCommit={setOp}
        placeholder="http.request"
      />
      {ops.length > 0 && (
        <SelectField label="pick an operation" value={f ? s.call! : ""} options={ops.map((o) => ({ value: o }))} onCommit={(v) => v && setOp(v)} disabled={c.readOnly} empty="(choose)" />
      )}
      <SelectField
        label="connection"
        value={s.connection ?? ""}
        options={conns.map((x) => ({ value: x.name, label: `${x.name} (${x.connector})` }))}
        description={f && conns.length === 0 ? `no connection of ${f.connector.name} yet: create one in Connections` : "where the call goes, with its credentials"}
        problems={c.problemsAt([...s.path, "connection"])}
        disabled={c.readOnly}
        empty="(none)"
        onCommit={(v) => c.set([...s.path, "connection"], v || undefined)}
      />
      <fieldset className="group">
        <legend>Inputs</legend>
        <SchemaForm
          schema={f?.op.input_schema}
          value={obj(s.value.with) ?? {}}
          path={[...s.path, "with"]}
          env={env}
          set={c.set}
          renameKey={(p, a, b) => c.apply((doc) => renameKey(doc, p, a, b))}
          problemsAt={c.problemsAt}
          disabled={c.readOnly}
        />
      </fieldset>
      <RetryTimeout c={c} s={s} />
    </>
  );
}

export function SetForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  return <MapRows c={c} legend="fields" path={[...s.path, "set"]} value={s.value.set} env={env} keyPlaceholder="field name, e.g. message" />;
}

export function IfForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  return (
    <>
      <ValueField label="condition" always value={s.value.if} env={env} required description="a CEL condition, e.g. =trigger.body.total > 100" problems={c.problemsAt([...s.path, "if"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "if"], v)} />
      <p className="muted small">
        then: {s.branches[0]?.steps.length ?? 0} step(s), else: {s.branches[1]?.steps.length ?? 0} step(s). Add steps with the + in each branch on the canvas.
      </p>
    </>
  );
}

export function SwitchForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  const cases = Array.isArray(s.value.switch) ? (s.value.switch as Obj[]) : [];
  return (
    <fieldset className="group">
      <legend>Cases (the first true one runs)</legend>
      {cases.map((cs, i) => (
        <div key={i} className="row case-row">
          <ValueField label={`case ${i + 1} when`} always value={cs?.when} env={env} problems={c.problemsAt([...s.path, "switch", i, "when"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "switch", i, "when"], v)} />
          <button type="button" className="ghost icon" aria-label={`Remove case ${i + 1}`} disabled={c.readOnly} onClick={() => c.apply((doc) => deleteStep(doc, [...s.path, "switch", i]))}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="secondary" disabled={c.readOnly} onClick={() => c.apply((doc) => insertStep(doc, [...s.path, "switch"], cases.length, { when: "=true", steps: [] }))}>
        Add a case
      </button>
    </fieldset>
  );
}

export function ForeachForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  return (
    <>
      <ValueField label="items" always value={s.value.foreach} env={env} required description="a list expression; steps inside see item and index" problems={c.problemsAt([...s.path, "foreach"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "foreach"], v)} />
      <TextField label="concurrency" value={show(s.value.concurrency)} placeholder="1" description="iterations at once (1 to 1000)" problems={c.problemsAt([...s.path, "concurrency"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "concurrency"], v.trim() ? literal(v) : undefined)} />
    </>
  );
}

export function WaitForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  return (
    <>
      <TextField label="duration" value={show(s.value.wait)} placeholder="5m" description="a duration (5m, 1h); leave empty and set until for a time" problems={c.problemsAt([...s.path, "wait"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "wait"], v || null)} />
      <ValueField label="until" always value={s.value.until} env={env} description="an RFC 3339 timestamp expression" problems={c.problemsAt([...s.path, "until"])} disabled={c.readOnly} onCommit={(v) => c.set([...s.path, "until"], v || undefined)} />
    </>
  );
}

export function RespondForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  const nested = obj(s.value.respond) || s.value.respond === undefined || s.value.respond === null ? !(s.value.status !== undefined || s.value.body !== undefined) : true;
  const base: Path = nested ? [...s.path, "respond"] : s.path;
  const r = (nested ? obj(s.value.respond) : s.value) ?? {};
  const bodyIsMap = r.body === undefined || obj(r.body) !== undefined;
  return (
    <>
      <TextField label="status" value={show(r.status)} placeholder="200" problems={c.problemsAt([...base, "status"])} disabled={c.readOnly} onCommit={(v) => c.set([...base, "status"], v.trim() ? literal(v) : undefined)} />
      {bodyIsMap ? (
        <MapRows c={c} legend="body" path={[...base, "body"]} value={r.body} env={env} keyPlaceholder="field name" />
      ) : (
        <ValueField label="body" value={r.body} env={env} problems={c.problemsAt([...base, "body"])} disabled={c.readOnly} onCommit={(v) => c.set([...base, "body"], v)} />
      )}
      <button type="button" className="ghost small" disabled={c.readOnly} onClick={() => c.set([...base, "body"], bodyIsMap ? "=steps" : {})}>
        {bodyIsMap ? "Use one expression for the body" : "Use body fields"}
      </button>
      <MapRows c={c} legend="headers" path={[...base, "headers"]} value={r.headers} env={env} keyPlaceholder="Header-Name" />
    </>
  );
}

export function FailForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  const f = s.value.fail;
  const o = obj(f);
  const message = o ? o.message : typeof f === "string" ? f : s.value.message;
  const code = o ? o.code : s.value.code;
  const write = (m: unknown, cd: unknown) => c.set([...s.path, "fail"], cd ? { message: m ?? "", code: cd } : (m ?? ""));
  return (
    <>
      <ValueField label="message" value={message} env={env} problems={c.problemsAt([...s.path, "fail"])} disabled={c.readOnly} onCommit={(v) => write(v, code)} />
      <TextField label="code" value={show(code)} placeholder="failed" disabled={c.readOnly} onCommit={(v) => write(message, v || undefined)} />
    </>
  );
}

export function SubflowForm({ c, s, env }: { c: FormCtx; s: StepNode; env: JSONSchema }) {
  return (
    <>
      <SelectField label="flow" value={s.subflow ?? ""} required options={c.catalog.flows.filter((n) => n !== c.graph.name).map((n) => ({ value: n }))} description="the deployed flow to run; its trigger.body is `with`" problems={c.problemsAt([...s.path, "subflow"])} disabled={c.readOnly} empty="(choose a flow)" onCommit={(v) => c.set([...s.path, "subflow"], v)} />
      <MapRows c={c} legend="with (the subflow's trigger.body)" path={[...s.path, "with"]} value={s.value.with} env={env} />
      <RetryTimeout c={c} s={s} />
    </>
  );
}
