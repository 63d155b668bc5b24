// The palette: triggers, step kinds, and every operation of every connector,
// searchable with the catalog's ranked search (GET /api/connectors/search).
// A click inserts at the chosen "+" (or after the selected step, or at the
// end); dragging onto the canvas, a step or a "+" inserts there.
import { useEffect, useMemo, useState, type RefObject } from "react";
import { api, ApiError } from "../api";
import type { Catalog } from "./catalog";
import { startDrag, type PaletteItem } from "./dnd";
import { STEP_KINDS, TRIGGER_KINDS } from "./model";
import { KIND_INFO, TRIGGER_INFO } from "./templates";

interface Hit {
  operation: string;
  title?: string;
  description?: string;
  score?: number;
}

export interface PaletteProps {
  catalog: Catalog;
  onPick(item: PaletteItem): void;
  /** where a click inserts, in words */
  target: string;
  searchRef?: RefObject<HTMLInputElement | null>;
  disabled?: boolean;
  onReload(): void;
}

function Item({ item, name, info, onPick, disabled }: { item: PaletteItem; name: string; info?: string; onPick(i: PaletteItem): void; disabled?: boolean }) {
  return (
    <li>
      <button
        type="button"
        className="pal-item"
        draggable={!disabled}
        disabled={disabled}
        title={info ? `${name}: ${info}` : name}
        aria-label={`${name}${info ? ": " + info : ""}`}
        onDragStart={(e) => startDrag(e, { type: "palette", item })}
        onClick={() => onPick(item)}
      >
        <span className="mono pal-name">{name}</span>
        {info && <span className="muted pal-info">{info}</span>}
      </button>
    </li>
  );
}

export function Palette(p: PaletteProps) {
  const [q, setQ] = useState("");
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [err, setErr] = useState("");
  const query = q.trim();

  useEffect(() => {
    if (!query) {
      setHits(null);
      setErr("");
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      api<{ hits: Hit[] }>(`/api/connectors/search?q=${encodeURIComponent(query)}&limit=30`, { signal: ctl.signal })
        .then((r) => {
          setHits(r.hits ?? []);
          setErr("");
        })
        .catch((e: Error) => {
          if (e.name === "AbortError") return;
          setErr(e instanceof ApiError ? e.message : String(e));
          setHits(null);
        });
    }, 200);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [query]);

  const match = (s: string) => !query || s.toLowerCase().includes(query.toLowerCase());
  const triggers = TRIGGER_KINDS.filter((k) => match(k) || match(TRIGGER_INFO[k]));
  const kinds = STEP_KINDS.filter((k) => match(k) || match(KIND_INFO[k]));
  // Without a query: every operation, by connector. With one: the ranked hits
  // (or, if the server is away, a local substring match).
  const local = useMemo(
    () =>
      p.catalog.connectors.flatMap((c) => c.operations.map((o): Hit => ({ operation: `${c.name}.${o.name}`, title: o.title || o.description }))).filter((h) => match(h.operation) || match(h.title ?? "")),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [p.catalog, query],
  );
  const ops = query ? (hits ?? (err ? local : [])) : null;

  return (
    <nav className="palette" aria-label="Palette">
      <input
        ref={p.searchRef}
        type="search"
        className="pal-search"
        placeholder="Search steps and operations"
        aria-label="Search the palette"
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      <p className="muted small pal-target" aria-live="polite">
        Click inserts {p.target}; or drag onto the canvas.
      </p>
      {triggers.length > 0 && (
        <section aria-label="Triggers">
          <h3>Triggers</h3>
          <ul>
            {triggers.map((k) => (
              <Item key={k} item={{ type: "trigger", kind: k }} name={k} info={TRIGGER_INFO[k]} onPick={p.onPick} disabled={p.disabled} />
            ))}
          </ul>
        </section>
      )}
      {kinds.length > 0 && (
        <section aria-label="Steps">
          <h3>Steps</h3>
          <ul>
            {kinds.map((k) => (
              <Item key={k} item={{ type: "kind", kind: k }} name={k} info={KIND_INFO[k]} onPick={p.onPick} disabled={p.disabled} />
            ))}
          </ul>
        </section>
      )}
      <section aria-label="Operations">
        <h3>Operations</h3>
        {p.catalog.loading && <p className="muted small">Loading connectors…</p>}
        {p.catalog.error && (
          <p className="error small">
            {p.catalog.error}{" "}
            <button type="button" className="ghost small" onClick={p.onReload}>
              Retry
            </button>
          </p>
        )}
        {err && <p className="muted small">Search is unavailable ({err}); showing a plain match.</p>}
        {ops ? (
          ops.length === 0 ? (
            <p className="muted small">{hits ? `No operation matches "${query}".` : "Searching…"}</p>
          ) : (
            <ul>
              {ops.map((h) => (
                <Item key={h.operation} item={{ type: "op", op: h.operation }} name={h.operation} info={h.title || h.description} onPick={p.onPick} disabled={p.disabled} />
              ))}
            </ul>
          )
        ) : (
          p.catalog.connectors.map((c) => (
            <details key={c.name} className="pal-connector">
              <summary>
                {c.title || c.name} <span className="muted">({c.operations.length})</span>
              </summary>
              <ul>
                {c.operations.map((o) => (
                  <Item key={o.name} item={{ type: "op", op: `${c.name}.${o.name}` }} name={`${c.name}.${o.name}`} info={o.title || o.description} onPick={p.onPick} disabled={p.disabled} />
                ))}
              </ul>
            </details>
          ))
        )}
        {!p.catalog.loading && !p.catalog.error && p.catalog.connectors.length === 0 && <p className="muted small">No connectors: import an OpenAPI document in Connectors.</p>}
      </section>
    </nav>
  );
}
