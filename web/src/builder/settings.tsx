// The settings panel of the selected node: the flow itself (nothing
// selected), its trigger, or a step (id, position, and its kind's form).
import { useMemo, useState, type ReactNode } from "react";
import { checkId, renameStep, setTrigger } from "./edits";
import { scope } from "./exprcomplete";
import { findOp } from "./catalog";
import { SelectField, TextField, show } from "./fields";
import { TRIGGER_KINDS, type StepNode } from "./model";
import { CallForm, FailForm, ForeachForm, IfForm, RespondForm, SetForm, SubflowForm, SwitchForm, WaitForm, type FormCtx } from "./stepforms";
import { KIND_INFO, TRIGGER_INFO, triggerDefaults } from "./templates";

export interface SettingsProps extends FormCtx {
  selected: string | null;
  /** problems attached to the selected node */
  nodeProblems: string[];
  onDelete(key: string): void;
  onMove(key: string, delta: -1 | 1): void;
}

export function Settings(p: SettingsProps) {
  if (p.selected === "trigger") return <TriggerSettings {...p} />;
  const s = p.selected ? p.graph.byKey.get(p.selected) : undefined;
  if (s) return <StepSettings key={s.key} {...p} s={s} />;
  return <FlowSettings {...p} />;
}

function Problems({ list }: { list: string[] }) {
  if (!list.length) return null;
  return (
    <div className="problems-box" role="alert">
      <strong>{list.length} problem(s)</strong>
      <ul>
        {list.map((m, i) => (
          <li key={i}>{m}</li>
        ))}
      </ul>
    </div>
  );
}

function FlowSettings(p: SettingsProps) {
  const root = p.graph;
  return (
    <section aria-label="Flow settings" className="settings">
      <h2>Flow</h2>
      <p className="muted small">Select a node on the canvas to edit it. Start with a trigger and steps from the palette.</p>
      <TextField label="name" value={root.name} required mono description="lower-case letters, digits, - and _ (the webhook is /hooks/NAME)" problems={p.problemsAt(["name"])} disabled={p.readOnly} onCommit={(v) => p.set(["name"], v)} />
      <TextField label="description" value={root.description} problems={p.problemsAt(["description"])} disabled={p.readOnly} onCommit={(v) => p.set(["description"], v || undefined)} />
      <SelectField
        label="capture"
        value={root.capture}
        options={[{ value: "none" }, { value: "metadata" }, { value: "full" }]}
        description="what the run log keeps of step payloads"
        disabled={p.readOnly}
        empty="(server default)"
        onCommit={(v) => p.set(["capture"], v || undefined)}
      />
    </section>
  );
}

function TriggerSettings(p: SettingsProps) {
  const t = p.graph.trigger;
  const base = ["trigger", t.kind];
  const cfg = t.config;
  const env = useMemo(() => scope(p.graph, null, p.catalog), [p.graph, p.catalog]);
  const setK = (k: string, v: unknown) => p.set([...base, k], v === "" ? undefined : v);
  const ops = p.catalog.connectors.flatMap((x) => x.operations.map((o) => `${x.name}.${o.name}`));
  const pollOp = findOp(p.catalog, String(cfg.operation ?? ""));
  return (
    <section aria-label="Trigger settings" className="settings">
      <h2>Trigger</h2>
      <Problems list={p.nodeProblems} />
      <SelectField
        label="kind"
        value={t.kind === "none" || t.kind === "unknown" ? "" : t.kind}
        options={TRIGGER_KINDS.map((k) => ({ value: k, label: `${k}: ${TRIGGER_INFO[k]}` }))}
        disabled={p.readOnly}
        empty="(none: manual)"
        onCommit={(v) => v && p.apply((doc) => setTrigger(doc, v, triggerDefaults(v as never)))}
      />
      {t.kind === "webhook" && (
        <>
          <SelectField label="mode" value={show(cfg.mode)} options={[{ value: "sync", label: "sync: the reply is the respond step's" }, { value: "async", label: "async: 202 and a run id" }]} disabled={p.readOnly} onCommit={(v) => setK("mode", v)} />
          <TextField label="signature secret" value={show((cfg.signature as Record<string, unknown> | undefined)?.secret)} description="the NAME of WEFT_SECRET_NAME (HMAC-SHA256 of the body); empty: unsigned" disabled={p.readOnly} onCommit={(v) => p.set([...base, "signature"], v ? { secret: v } : undefined)} />
          <TextField label="idempotency header" value={show((cfg.idempotency as Record<string, unknown> | undefined)?.header)} placeholder="X-Event-Id" disabled={p.readOnly} onCommit={(v) => p.set([...base, "idempotency"], v ? { header: v } : undefined)} />
        </>
      )}
      {t.kind === "schedule" && (
        <>
          <TextField label="cron" value={show(cfg.cron)} required mono description="5 fields (6 with seconds first), or @every 30s, @hourly, @daily" problems={p.problemsAt([...base, "cron"])} disabled={p.readOnly} onCommit={(v) => setK("cron", v)} />
          <TextField label="timezone" value={show(cfg.timezone)} placeholder="UTC" description="an IANA name, e.g. Europe/Paris" problems={p.problemsAt([...base, "timezone"])} disabled={p.readOnly} onCommit={(v) => setK("timezone", v)} />
          <SelectField label="missed ticks" value={show(cfg.missed)} options={[{ value: "skip" }, { value: "run_once" }, { value: "run_all" }]} disabled={p.readOnly} empty="(skip)" onCommit={(v) => setK("missed", v)} />
        </>
      )}
      {t.kind === "poll" && (
        <>
          <SelectField label="operation" value={show(cfg.operation)} required options={ops.map((o) => ({ value: o }))} problems={p.problemsAt([...base, "operation"])} disabled={p.readOnly} onCommit={(v) => setK("operation", v)} />
          <SelectField
            label="connection"
            value={show(cfg.connection)}
            options={p.catalog.connections.filter((c) => !pollOp || c.connector === pollOp.connector.name).map((c) => ({ value: c.name }))}
            disabled={p.readOnly}
            empty="(none)"
            onCommit={(v) => setK("connection", v)}
          />
          <TextField label="every" value={show(cfg.every)} placeholder="1m" disabled={p.readOnly} problems={p.problemsAt([...base, "every"])} onCommit={(v) => setK("every", v)} />
          <TextField label="items" value={show(cfg.items)} description="dotted path to the records in the output" disabled={p.readOnly} onCommit={(v) => setK("items", v)} />
          <TextField label="cursor" value={show(cfg.cursor)} description="a field that only increases (id, updated_at)" disabled={p.readOnly} onCommit={(v) => setK("cursor", v)} />
        </>
      )}
      {t.kind === "manual" && <p className="muted small">Runs with POST /api/flows/NAME/runs or weft flow run NAME.</p>}
      {t.kind !== "none" && env && <p className="muted small">Expressions read the event as trigger.body, trigger.headers, trigger.query.</p>}
    </section>
  );
}

function StepSettings(p: SettingsProps & { s: StepNode }) {
  const s = p.s;
  const env = useMemo(() => scope(p.graph, s, p.catalog), [p.graph, s, p.catalog]);
  const [idErr, setIdErr] = useState("");
  const c: FormCtx = p;
  const forms: Record<string, ReactNode> = {
    call: <CallForm c={c} s={s} env={env} />,
    set: <SetForm c={c} s={s} env={env} />,
    if: <IfForm c={c} s={s} env={env} />,
    switch: <SwitchForm c={c} s={s} env={env} />,
    foreach: <ForeachForm c={c} s={s} env={env} />,
    wait: <WaitForm c={c} s={s} env={env} />,
    respond: <RespondForm c={c} s={s} env={env} />,
    fail: <FailForm c={c} s={s} env={env} />,
    subflow: <SubflowForm c={c} s={s} env={env} />,
    unknown: null,
  };
  const idx = s.path[s.path.length - 1] as number;
  return (
    <section aria-label={`Settings of step ${s.id}`} className="settings">
      <h2>
        <span className="muted">{s.kind}</span> {s.id}
      </h2>
      {s.kind !== "unknown" && <p className="muted small">{KIND_INFO[s.kind]}</p>}
      <Problems list={p.nodeProblems} />
      {s.unknown && (
        <p className="error">
          {s.unknown}. Fix it in the YAML (line {s.span.line}) or delete the step.
        </p>
      )}
      <TextField
        label="id"
        value={s.explicitId ? s.id : ""}
        placeholder={s.id}
        mono
        description="how later steps refer to it: steps.ID; renaming updates those references"
        problems={[...(idErr ? [idErr] : []), ...p.problemsAt([...s.path, "id"])]}
        disabled={p.readOnly}
        onCommit={(v) => {
          const err = v ? checkId(p.graph, v, s.key) : null;
          setIdErr(err ?? "");
          if (!err && v) p.apply((doc, g) => renameStep(doc, g, s.path, v));
        }}
      />
      {forms[s.kind]}
      <div className="toolbar">
        <button type="button" className="secondary" disabled={p.readOnly || idx === 0} onClick={() => p.onMove(s.key, -1)}>
          Move up
        </button>
        <button type="button" className="secondary" disabled={p.readOnly} onClick={() => p.onMove(s.key, 1)}>
          Move down
        </button>
        <span className="grow" />
        <button type="button" className="danger" disabled={p.readOnly} onClick={() => p.onDelete(s.key)}>
          Delete step
        </button>
      </div>
    </section>
  );
}
