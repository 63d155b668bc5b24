// A call's `with`, generated from the operation's input JSON Schema:
// required fields marked, enums as selects, defaults and descriptions shown;
// every value may be an "=" expression with completion. Inputs the schema
// does not name (or all of them, for an unknown operation) are key = value rows.
import type { JSONSchema } from "./catalog";
import { Field, KVRows, ValueField, schemaType, show } from "./fields";
import type { Path } from "./model";

export interface SchemaFormProps {
  schema: JSONSchema | undefined;
  value: Record<string, unknown>;
  path: Path; // of the `with` mapping
  env: JSONSchema;
  set(path: Path, v: unknown): void;
  renameKey(mapPath: Path, oldKey: string, newKey: string): void;
  problemsAt(path: Path): string[];
  disabled?: boolean;
}

export function SchemaForm(p: SchemaFormProps) {
  const props = p.schema?.properties ?? {};
  const required = new Set(p.schema?.required ?? []);
  const names = Object.keys(props).sort((a, b) => Number(required.has(b)) - Number(required.has(a)));
  const extra = Object.fromEntries(Object.entries(p.value).filter(([k]) => !(k in props)));
  return (
    <div className="schemaform">
      {names.map((k) => {
        const s = props[k] ?? {};
        const fpath = [...p.path, k];
        const desc = [s.description, s.default !== undefined ? `default: ${show(s.default)}` : "", s.format ? `format: ${s.format}` : ""].filter(Boolean).join(" · ");
        const t = schemaType(s);
        const cur = p.value[k];
        if ((s.enum?.length || t === "boolean") && !(typeof cur === "string" && cur.startsWith("="))) {
          const opts = s.enum ? s.enum.map((x) => ({ value: show(x) })) : [{ value: "true" }, { value: "false" }];
          return (
            <Field key={k} label={k} required={required.has(k)} description={desc} problems={p.problemsAt(fpath)}>
              {(id, d, invalid) => (
                <select
                  id={id}
                  aria-describedby={d}
                  aria-invalid={invalid || undefined}
                  disabled={p.disabled}
                  value={cur === undefined ? "" : show(cur)}
                  onChange={(e) => {
                    const raw = e.target.value;
                    const orig = s.enum?.find((x) => show(x) === raw);
                    p.set(fpath, raw === "" ? undefined : orig !== undefined ? orig : raw === "true" ? true : raw === "false" ? false : raw);
                  }}
                >
                  <option value="">{s.default !== undefined ? `(default: ${show(s.default)})` : "(not set)"}</option>
                  {opts.map((o) => (
                    <option key={o.value} value={o.value}>
                      {o.value}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          );
        }
        return (
          <ValueField
            key={k}
            label={k}
            value={cur}
            env={p.env}
            required={required.has(k)}
            description={desc + (t ? (desc ? " · " : "") + t : "")}
            placeholder={s.default !== undefined ? show(s.default) : t === "object" || t === "array" ? "{...} or =expression" : ""}
            problems={p.problemsAt(fpath)}
            disabled={p.disabled}
            onCommit={(v) => p.set(fpath, v)}
          />
        );
      })}
      {(names.length === 0 || Object.keys(extra).length > 0) && (
        <KVRows
          legend={names.length ? "other inputs" : "inputs (with)"}
          value={extra}
          env={p.env}
          disabled={p.disabled}
          onSet={(k, v) => p.set([...p.path, k], v)}
          onRename={(a, b) => p.renameKey(p.path, a, b)}
          onRemove={(k) => p.set([...p.path, k], undefined)}
          problemsFor={(k) => p.problemsAt([...p.path, k])}
        />
      )}
    </div>
  );
}
