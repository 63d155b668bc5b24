// Form fields of the settings panel. Each edits a local copy and commits on
// blur or Enter (one YAML change per field edit, not per keystroke), shows
// the field's description, marks required fields, and lists the validator's
// problems whose line falls in the field's value.
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { parse as parseYAML } from "yaml";
import { ExprInput } from "./exprinput";
import type { JSONSchema } from "./catalog";

/** useFieldValue: a local value that follows the external one while not focused. */
export function useFieldValue(external: string): [string, (v: string) => void, { current: boolean }] {
  const [v, setV] = useState(external);
  const focus = useRef(false);
  useEffect(() => {
    if (!focus.current) setV(external);
  }, [external]);
  return [v, setV, focus];
}

/** show writes a value for a text field. */
export function show(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/**
 * literal reads what was typed: "=..." is an expression (a string), a
 * number, true/false/null or a {...}/[...] collection is that value, anything
 * else is the text.
 */
export function literal(text: string): unknown {
  if (text.startsWith("=")) return text;
  const t = text.trim();
  if (t === "") return "";
  if (/^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)$/.test(t) || /^[[{]/.test(t)) {
    try {
      return parseYAML(t);
    } catch {
      return text;
    }
  }
  return text;
}

export interface FieldProps {
  label: string;
  required?: boolean;
  description?: string;
  problems?: string[];
  children: (id: string, describedBy: string | undefined, invalid: boolean) => ReactNode;
  className?: string;
}

export function Field(p: FieldProps) {
  const id = useId();
  const descId = id + "-d";
  const probs = p.problems ?? [];
  return (
    <div className={`field ${p.className ?? ""}${probs.length ? " invalid" : ""}`}>
      <label htmlFor={id} className="field-label">
        {p.label}
        {p.required && (
          <span className="required" title="required" aria-hidden="true">
            {" "}*
          </span>
        )}
      </label>
      {p.children(id, p.description || probs.length ? descId : undefined, probs.length > 0)}
      {(p.description || probs.length > 0) && (
        <div id={descId}>
          {p.description && <div className="field-help muted">{p.description}</div>}
          {probs.map((m, i) => (
            <div key={i} className="field-problem error" role="alert">
              {m}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export function TextField(p: { label: string; value: string; onCommit(v: string): void; required?: boolean; description?: string; problems?: string[]; placeholder?: string; disabled?: boolean; mono?: boolean }) {
  const [v, setV, focus] = useFieldValue(p.value);
  return (
    <Field label={p.label} required={p.required} description={p.description} problems={p.problems}>
      {(id, d, invalid) => (
        <input
          id={id}
          className={p.mono ? "mono" : undefined}
          value={v}
          placeholder={p.placeholder}
          disabled={p.disabled}
          aria-describedby={d}
          aria-invalid={invalid || undefined}
          aria-required={p.required || undefined}
          onFocus={() => (focus.current = true)}
          onChange={(e) => setV(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              if (v !== p.value) p.onCommit(v);
            }
          }}
          onBlur={() => {
            focus.current = false;
            if (v !== p.value) p.onCommit(v);
          }}
        />
      )}
    </Field>
  );
}

export function SelectField(p: { label: string; value: string; options: { value: string; label?: string }[]; onCommit(v: string): void; required?: boolean; description?: string; problems?: string[]; disabled?: boolean; empty?: string }) {
  const known = p.options.some((o) => o.value === p.value);
  return (
    <Field label={p.label} required={p.required} description={p.description} problems={p.problems}>
      {(id, d, invalid) => (
        <select id={id} value={p.value} disabled={p.disabled} aria-describedby={d} aria-invalid={invalid || undefined} onChange={(e) => p.onCommit(e.target.value)}>
          <option value="">{p.empty ?? "(not set)"}</option>
          {!known && p.value !== "" && <option value={p.value}>{p.value} (not in the list)</option>}
          {p.options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label ?? o.value}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** ValueField edits any value: literal text/number/collection, or an "=" expression with completion. */
export function ValueField(p: { label: string; value: unknown; onCommit(v: unknown): void; env: JSONSchema; required?: boolean; description?: string; problems?: string[]; placeholder?: string; always?: boolean; disabled?: boolean }) {
  return (
    <Field label={p.label} required={p.required} description={p.description} problems={p.problems}>
      {(_id, d, invalid) => (
        <ExprInput
          label={p.label}
          value={show(p.value)}
          env={p.env}
          always={p.always}
          placeholder={p.placeholder}
          disabled={p.disabled}
          invalid={invalid}
          describedBy={d}
          onCommit={(t) => p.onCommit(p.always ? t : t === "" ? undefined : literal(t))}
        />
      )}
    </Field>
  );
}

/** schemaType is the first JSON Schema type of a property. */
export function schemaType(s: JSONSchema | undefined): string {
  if (!s) return "";
  if (Array.isArray(s.type)) return s.type.find((t) => t !== "null") ?? "";
  return s.type ?? "";
}

export interface KVRowsProps {
  legend: string;
  value: Record<string, unknown> | undefined;
  env: JSONSchema;
  onSet(key: string, v: unknown): void;
  onRename(oldKey: string, newKey: string): void;
  onRemove(key: string): void;
  problemsFor(key: string): string[];
  disabled?: boolean;
  keyPlaceholder?: string;
}

/** KVRows edits a mapping as rows of key = value (set fields, a body, headers). */
export function KVRows(p: KVRowsProps) {
  const entries = Object.entries(p.value ?? {});
  const [newKey, setNewKey] = useState("");
  const [err, setErr] = useState("");
  const add = () => {
    const k = newKey.trim();
    if (!k) return;
    if (k in (p.value ?? {})) {
      setErr(`"${k}" is already there`);
      return;
    }
    setErr("");
    p.onSet(k, "");
    setNewKey("");
  };
  return (
    <fieldset className="kv" disabled={p.disabled}>
      <legend>{p.legend}</legend>
      {entries.length === 0 && <p className="muted small">None yet: add a key below.</p>}
      {entries.map(([k, v]) => (
        <KVRow key={k} k={k} v={v} p={p} />
      ))}
      <div className="kv-add row">
        <input aria-label={`New key in ${p.legend}`} placeholder={p.keyPlaceholder ?? "new key"} value={newKey} onChange={(e) => setNewKey(e.target.value)} onKeyDown={(e) => e.key === "Enter" && (e.preventDefault(), add())} />
        <button type="button" className="secondary" onClick={add} disabled={!newKey.trim()}>
          Add
        </button>
      </div>
      {err && <p className="error small">{err}</p>}
    </fieldset>
  );
}

function KVRow({ k, v, p }: { k: string; v: unknown; p: KVRowsProps }) {
  const [key, setKey, focus] = useFieldValue(k);
  const probs = p.problemsFor(k);
  return (
    <div className={`kv-row${probs.length ? " invalid" : ""}`}>
      <div className="row">
        <input
          className="kv-key mono"
          aria-label={`Key ${k} in ${p.legend}`}
          value={key}
          onFocus={() => (focus.current = true)}
          onChange={(e) => setKey(e.target.value)}
          onBlur={() => {
            focus.current = false;
            if (key.trim() && key !== k) p.onRename(k, key.trim());
            else setKey(k);
          }}
        />
        <span className="muted">=</span>
        <ExprInput label={`Value of ${k} in ${p.legend}`} value={show(v)} env={p.env} invalid={probs.length > 0} onCommit={(t) => p.onSet(k, literal(t))} />
        <button type="button" className="ghost icon" aria-label={`Remove ${k} from ${p.legend}`} title="Remove" onClick={() => p.onRemove(k)}>
          ✕
        </button>
      </div>
      {probs.map((m, i) => (
        <div key={i} className="field-problem error" role="alert">
          {m}
        </div>
      ))}
    </div>
  );
}
