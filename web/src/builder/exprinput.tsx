// An expression field: a text input that completes trigger.*, steps.<id>.*,
// run.* (and item/index in a foreach) with their types, for values that
// start with "=" (or always, for conditions, which are always CEL).
import { useId, useRef, useState, type KeyboardEvent } from "react";
import { complete, type Completion } from "./exprcomplete";
import type { JSONSchema } from "./catalog";
import { useFieldValue } from "./fields";

export interface ExprInputProps {
  label: string;
  value: string;
  onCommit(v: string): void;
  env: JSONSchema;
  /** a condition: always an expression, "=" optional */
  always?: boolean;
  placeholder?: string;
  disabled?: boolean;
  invalid?: boolean;
  describedBy?: string;
}

export function ExprInput(p: ExprInputProps) {
  const [v, setV, focus] = useFieldValue(p.value);
  const [items, setItems] = useState<{ from: number; items: Completion[] } | null>(null);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  const listId = id + "-list";

  const refresh = (text: string, caret: number) => {
    const isExpr = p.always || text.startsWith("=");
    if (!isExpr) return setItems(null);
    const before = text.slice(0, caret);
    if (!/[A-Za-z_.]$/.test(before)) return setItems(null);
    const r = complete(p.env, before.replace(/^=/, ""));
    setItems(r ? { from: r.from + (before.startsWith("=") ? 1 : 0), items: r.items.slice(0, 50) } : null);
    setActive(0);
  };

  const accept = (c: Completion) => {
    const el = input.current!;
    const caret = el.selectionStart ?? v.length;
    const next = v.slice(0, items!.from) + c.label + v.slice(caret);
    setV(next);
    setItems(null);
    const at = items!.from + c.label.length;
    requestAnimationFrame(() => el.setSelectionRange(at, at));
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (items && items.items.length) {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        setActive((a) => (a + 1) % items.items.length);
        return;
      }
      if (e.key === "ArrowUp") {
        e.preventDefault();
        setActive((a) => (a - 1 + items.items.length) % items.items.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        accept(items.items[active]);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setItems(null);
        return;
      }
    }
    if (e.key === "Enter") {
      e.preventDefault();
      if (v !== p.value) p.onCommit(v);
    }
  };

  return (
    <div className="expr">
      <input
        ref={input}
        className="mono"
        role="combobox"
        aria-label={p.label}
        aria-expanded={!!items}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={items ? `${listId}-${active}` : undefined}
        aria-invalid={p.invalid || undefined}
        aria-describedby={p.describedBy}
        value={v}
        placeholder={p.placeholder}
        disabled={p.disabled}
        spellCheck={false}
        autoComplete="off"
        onFocus={() => (focus.current = true)}
        onChange={(e) => {
          setV(e.target.value);
          refresh(e.target.value, e.target.selectionStart ?? e.target.value.length);
        }}
        onKeyDown={onKey}
        onBlur={() => {
          focus.current = false;
          setItems(null);
          if (v !== p.value) p.onCommit(v);
        }}
      />
      {items && (
        <ul className="expr-list" role="listbox" id={listId} aria-label={`Completions for ${p.label}`}>
          {items.items.map((c, i) => (
            <li
              key={c.label}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(c);
              }}
            >
              <span className="mono">{c.label}</span> <span className="muted">{c.type}</span>
              {c.detail && <span className="muted detail"> {c.detail}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
