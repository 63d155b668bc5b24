// The builder page (#/builder for a new flow, #/builder/NAME to edit one):
// palette | canvas | YAML | settings and other panels, with the draft kept
// in localStorage, live validation by the server, and deploy with a diff.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Document } from "yaml";
import { api, ApiError } from "../api";
import { navigate, type Route } from "../router";
import { Canvas, type InsertPoint, type StepResult } from "./canvas";
import { findOp, type JSONSchema } from "./catalog";
import { useCatalog } from "./usecatalog";
import { DeployDialog, type Deployed } from "./deploy";
import { clearDraft, hhmm, loadDraft, saveDraft } from "./drafts";
import { deleteStep, edit, insertStep, moveStep, setField, setTrigger } from "./edits";
import { complete, scope } from "./exprcomplete";
import type { DragPayload, PaletteItem } from "./dnd";
import { LastRuns } from "./lastruns";
import { NEW_FLOW, parseFlowCached, pathKey, stepAtLine, TOP, type Graph, type Parsed, type Path } from "./model";
import { Palette } from "./palette";
import { attach, byKey, linesOf, problemsFromError, type Problem } from "./problems";
import { builderPanels, type BuilderContext, type BuilderPanel } from "./panels";
import "./mountpanels";
import { Settings } from "./settings";
import { newCall, newStep, triggerDefaults } from "./templates";
import { useTheme } from "./theme";
import { takeFlow } from "./prefetch";
import type { KeyCompletion } from "./yamlcomplete";
import "./builder.css";

// The YAML editor (CodeMirror) is its own chunk, loaded after the canvas.
// Loaded by hand, not with React.lazy: a chunk that fails to load (the
// server went away) must give a message and a retry, not unmount the page.
type PaneModule = typeof import("./yamlpane");
let paneModule: PaneModule | null = null;
function usePane(enabled: boolean): [PaneModule | null, string, () => void] {
  const [m, setM] = useState(paneModule);
  const [err, setErr] = useState("");
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!enabled || m) return;
    let live = true;
    import("./yamlpane").then(
      (x) => {
        paneModule = x;
        if (live) setM(x);
      },
      (e: Error) => live && setErr(e.message),
    );
    return () => {
      live = false;
    };
  }, [enabled, m, n]);
  return [m, err, () => (setErr(""), setN((x) => x + 1))];
}

// Marks for the load measurements (web/e2e/perf.spec.ts).
const mark = (name: string) => performance.mark("weft:" + name);
mark("builder-chunk");

type Ok = Extract<Parsed, { ok: true }>;
type Notice = { kind: "info" | "error"; text: string } | null;

interface Base {
  version: number;
  source: string;
}

/** fromMappingFlow builds a new flow around a reviewed mapping's exported set step. */
export async function fromMappingFlow(id: string, root: string, step: string): Promise<string> {
  const q = new URLSearchParams();
  if (root) q.set("root", root);
  if (step) q.set("step", step);
  const exported = await api<string>(`/api/mappings/${encodeURIComponent(id)}/export?${q}`);
  return mappingFlowText(id, String(exported), root || "trigger.body");
}

/** mappingFlowText wraps an exported step list (YAML) in a webhook flow that answers with the mapped record. */
export function mappingFlowText(id: string, exported: string, root: string): string {
  const stepId = /id:\s*([A-Za-z_][\w-]*)/.exec(exported)?.[1] ?? "mapped";
  const name = ("mapped-" + id.replace(/[^a-z0-9-]/gi, "").toLowerCase()).slice(0, 60);
  const body = exported.trimEnd().split("\n").map((l) => "  " + l).join("\n");
  const trigger = root.startsWith("trigger.") ? "  webhook: {mode: sync}" : "  manual: {}";
  return `# The reviewed mapping ${id}, exported as a set step.\nname: ${name}\ntrigger:\n${trigger}\nsteps:\n${body}\n  - id: reply\n    respond:\n      body: =steps.${stepId}\n`;
}

export default function BuilderPage({ route, panels = builderPanels }: { route: Route; panels?: BuilderPanel[] }) {
  const flowParam = route.parts[1] as string | undefined;
  const [text, setText] = useState<string | null>(null);
  const [base, setBase] = useState<Base | null>(null);
  const [loadErr, setLoadErr] = useState("");
  const [restored, setRestored] = useState<number | null>(null);
  const [notice, setNotice] = useState<Notice>(null);
  const [online, setOnline] = useState(true);
  const [savedAt, setSavedAt] = useState<number | null>(null);
  const [serverProblems, setServerProblems] = useState<Problem[]>([]);
  const [validating, setValidating] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [insertAt, setInsertAt] = useState<InsertPoint | null>(null);
  const [results, setResults] = useState<Record<string, StepResult> | undefined>(undefined);
  const [tab, setTab] = useState("settings");
  const [showYaml, setShowYaml] = useState(true);
  const [deploying, setDeploying] = useState(false);
  const [runsTick, setRunsTick] = useState(0);
  const [probe, setProbe] = useState(0);
  const [schema, setSchema] = useState<JSONSchema | null>(null);
  const [reload, setReload] = useState(0);
  // The canvas comes first: the YAML editor's chunk, the catalog and the
  // schema load once it has been painted (they would compete for the main
  // thread while a large flow opens).
  const [painted, setPainted] = useState(false);
  const [catalog, reloadCatalog] = useCatalog(painted);
  const [pane, paneErr, retryPane] = usePane(painted && showYaml);
  const theme = useTheme();
  const searchRef = useRef<HTMLInputElement>(null);
  const textRef = useRef<string | null>(null);
  textRef.current = text;

  // Load: the deployed source, or a draft kept in this browser.
  useEffect(() => {
    let live = true;
    setText(null);
    setBase(null);
    setLoadErr("");
    setRestored(null);
    setSelected(null);
    setInsertAt(null);
    setResults(undefined);
    setServerProblems([]);
    const draft = loadDraft(flowParam);
    const fromMapping = route.query.get("from_mapping");
    if (!flowParam && fromMapping) {
      // "Open in builder" from a mapping review: a new flow whose one step is
      // the exported set step (the mapping's accepted fields), answering with it.
      fromMappingFlow(fromMapping, route.query.get("root") ?? "", route.query.get("step") ?? "")
        .then((t) => live && setText(t))
        .catch((e: ApiError) => {
          if (!live) return;
          setLoadErr(`The mapping ${fromMapping} could not be exported: ${e.message}`);
        });
      return () => {
        live = false;
      };
    }
    if (!flowParam) {
      setText(draft?.text ?? NEW_FLOW);
      if (draft) setRestored(draft.saved_at);
      return;
    }
    takeFlow(flowParam)
      .then((f) => {
        if (!live) return;
        mark("flow-fetched");
        setOnline(true);
        setBase({ version: f.version, source: f.source });
        if (draft && draft.text !== f.source) {
          setText(draft.text);
          setRestored(draft.saved_at);
        } else {
          if (draft) clearDraft(flowParam);
          setText(f.source);
        }
      })
      .catch((e: ApiError) => {
        if (!live) return;
        if (e.status === 0) setOnline(false);
        if (draft) {
          setText(draft.text);
          setRestored(draft.saved_at);
        } else if (e.status === 404) setLoadErr(`There is no deployed flow named "${flowParam}".`);
        else setLoadErr(e.message);
      });
    return () => {
      live = false;
    };
  }, [flowParam, reload]);

  useEffect(() => {
    if (painted) api<JSONSchema>("/api/schemas/flow").then(setSchema, () => setSchema(null));
  }, [painted]);

  // Keep the draft (debounced); a draft equal to what is deployed is no draft.
  useEffect(() => {
    if (text === null) return;
    const t = setTimeout(() => {
      const pristine = base ? text === base.source : text === NEW_FLOW;
      if (pristine) {
        clearDraft(flowParam);
        setSavedAt(null);
      } else if (saveDraft(flowParam, text, base?.version ?? 0)) setSavedAt(Date.now());
      else setNotice({ kind: "error", text: "This browser refused to keep the draft (storage full or disabled): deploy or copy the YAML to keep it." });
    }, 250);
    return () => clearTimeout(t);
  }, [text, base, flowParam]);

  const parsed = useMemo(() => {
    if (text === null) return null;
    const p = parseFlowCached(text);
    mark("flow-parsed");
    return p;
  }, [text]);
  const lastGood = useRef<Ok | null>(null);
  if (parsed?.ok) lastGood.current = parsed;
  const good = parsed?.ok ? parsed : lastGood.current;
  const graph = good?.graph ?? null;
  useEffect(() => {
    if (painted || !graph) return;
    let t = 0;
    const f = requestAnimationFrame(() => (t = window.setTimeout(() => setPainted(true), 0)));
    return () => {
      cancelAnimationFrame(f);
      clearTimeout(t);
    };
  }, [painted, graph]);
  const parseError = parsed && !parsed.ok ? parsed.error : null;
  const file = (graph?.name || flowParam || "flow") + ".yaml";

  // Live validation by the server, 400 ms after the last change.
  const seq = useRef(0);
  useEffect(() => {
    if (text === null || !parsed?.ok) return;
    const my = ++seq.current;
    const t = setTimeout(() => {
      setValidating(true);
      api("/api/flows/validate?file=" + encodeURIComponent(file), { raw: { data: text, type: "application/yaml" } })
        .then(() => {
          if (my !== seq.current) return;
          setServerProblems((prev) => (prev.length ? [] : prev)); // the same empty list: nothing re-renders
          setOnline(true);
        })
        .catch((e: ApiError) => {
          if (my !== seq.current) return;
          if (e.status === 0) setOnline(false);
          else {
            setOnline(true);
            setServerProblems(problemsFromError(e));
          }
        })
        .finally(() => my === seq.current && setValidating(false));
    }, 400);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, probe]);

  // While the server is away, try again every 5 s.
  useEffect(() => {
    if (online) return;
    const t = setInterval(() => setProbe((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, [online]);

  const problems = useMemo(() => (graph && parsed?.ok ? attach(serverProblems, graph) : []), [serverProblems, graph, parsed]);
  const nodeProblems = useMemo(() => byKey(problems), [problems]);
  const paneProblems = useMemo(() => (parseError ? [{ line: parseError.line, col: parseError.col, message: "YAML: " + parseError.message }] : problems), [parseError, problems]);

  const problemsAt = useCallback(
    (path: Path): string[] => {
      if (!good || !parsed?.ok) return [];
      const r = linesOf(good.doc, good.lines, path);
      if (!r) return [];
      return problems.filter((p) => p.line >= r[0] && p.line <= r[1]).map((p) => `line ${p.line}: ${p.message}`);
    },
    [good, parsed, problems],
  );

  // Edits go through the Document of the current text.
  const apply = useCallback(<T,>(fn: (doc: Document, g: Graph) => T): T | undefined => {
    const cur = textRef.current;
    if (cur === null) return undefined;
    try {
      const r = edit(cur, fn);
      if (typeof r.result === "string" && r.result) {
        setNotice({ kind: "error", text: r.result });
        return r.result;
      }
      if (r.text !== cur) setText(r.text);
      return r.result;
    } catch (e) {
      setNotice({ kind: "error", text: (e as Error).message });
      return undefined;
    }
  }, []);
  const set = useCallback((path: Path, v: unknown) => void apply((doc) => setField(doc, path, v)), [apply]);

  const select = useCallback((key: string | null) => {
    setSelected(key);
    setTab("settings");
  }, []);

  const afterSelected = (): InsertPoint | null => {
    if (!graph || !selected) return null;
    if (selected === "trigger") return { seq: TOP, index: 0 };
    const s = graph.byKey.get(selected);
    if (!s) return null;
    return { seq: s.path.slice(0, -1), index: (s.path[s.path.length - 1] as number) + 1 };
  };

  const insertItem = (item: PaletteItem, at?: InsertPoint) => {
    if (!graph) return;
    if (item.type === "trigger") {
      apply((doc) => setTrigger(doc, item.kind, triggerDefaults(item.kind)));
      select("trigger");
      return;
    }
    const target = at ?? insertAt ?? afterSelected() ?? { seq: TOP, index: graph.steps.length };
    const step = item.type === "kind" ? newStep(item.kind, graph) : newCall(item.op, graph, catalog);
    const path = apply((doc) => insertStep(doc, target.seq, target.index, step));
    if (Array.isArray(path)) select(pathKey(path));
    setInsertAt(null);
  };

  const onDrop = (at: InsertPoint, p: DragPayload) => {
    if (p.type === "palette") return insertItem(p.item, at);
    const s = graph?.byKey.get(p.key);
    if (!s) return;
    const path = apply((doc) => moveStep(doc, s.path, at.seq, at.index));
    if (Array.isArray(path)) select(pathKey(path));
  };

  const onDelete = (key: string) => {
    const s = graph?.byKey.get(key);
    if (!s) return;
    apply((doc) => deleteStep(doc, s.path));
    setSelected(null);
  };

  const onMove = (key: string, delta: -1 | 1) => {
    const s = graph?.byKey.get(key);
    if (!s) return;
    const i = s.path[s.path.length - 1] as number;
    const seqPath = s.path.slice(0, -1);
    const path = apply((doc) => moveStep(doc, s.path, seqPath, delta < 0 ? i - 1 : i + 2));
    if (Array.isArray(path)) setSelected(pathKey(path));
  };

  const onPlus = (at: InsertPoint) => {
    setInsertAt(at);
    searchRef.current?.focus();
  };

  // YAML pane helpers: the node at the cursor, completion of a call's inputs and of expressions.
  const onCursorLine = useCallback(
    (line: number) => {
      if (!graph) return;
      const s = stepAtLine(graph, line);
      if (s) setSelected(s.key);
    },
    [graph],
  );
  const extraKeys = useCallback(
    (ctx: { path: string[]; prefix: string; siblings: string[] }, pos: number, t: string): KeyCompletion[] => {
      if (ctx.path[ctx.path.length - 1] !== "with" || !parsed?.ok) return [];
      const line = t.slice(0, pos).split("\n").length;
      const s = stepAtLine(parsed.graph, line);
      const schemaIn = findOp(catalog, s?.call)?.op.input_schema;
      return Object.entries(schemaIn?.properties ?? {})
        .filter(([k]) => k.startsWith(ctx.prefix) && !ctx.siblings.includes(k))
        .map(([k, v]) => ({ label: k, detail: (schemaIn?.required ?? []).includes(k) ? "required" : v.type ? String(v.type) : undefined, info: v.description }));
    },
    [parsed, catalog],
  );
  const exprAt = useCallback(
    (pos: number, before: string) => {
      if (!graph || !text) return null;
      const line = text.slice(0, pos).split("\n").length;
      const s = stepAtLine(graph, line) ?? null;
      const i = before.search(/=[^=]*$/);
      const r = complete(scope(graph, s, catalog), before.slice(i + 1));
      return r ? { from: i + 1 + r.from, items: r.items } : null;
    },
    [graph, text, catalog],
  );

  const selectedStep = graph && selected ? graph.byKey.get(selected) ?? null : null;
  const revealLine = selected === "trigger" ? graph?.trigger.span?.line : selectedStep?.span.line;

  const ctx: BuilderContext | null = graph
    ? {
        flowName: graph.name,
        text: text ?? "",
        setText: (t) => setText(t),
        graph,
        parseError,
        selected: selectedStep,
        select,
        apply,
        setField: set,
        setResults,
        results,
        problems,
        catalog,
      }
    : null;

  const onDeployed = (d: Deployed) => {
    setDeploying(false);
    clearDraft(flowParam);
    if (d.name !== flowParam) clearDraft(d.name);
    setRestored(null);
    setSavedAt(null);
    setNotice({ kind: "info", text: `Deployed ${d.name} version ${d.version}.` });
    setRunsTick((n) => n + 1);
    reloadCatalog();
    if (d.name !== flowParam) navigate("/builder/" + encodeURIComponent(d.name));
    else setBase({ version: d.version, source: textRef.current ?? "" });
  };

  const discard = () => {
    clearDraft(flowParam);
    setRestored(null);
    if (flowParam) setReload((n) => n + 1);
    else setText(NEW_FLOW);
  };

  if (loadErr && text === null) {
    return (
      <section className="builder-msg">
        <p className="error" role="alert">
          {loadErr}
        </p>
        <div className="toolbar">
          <button type="button" onClick={() => setReload((n) => n + 1)}>
            Try again
          </button>
          <a href="#/builder">Start a new flow</a>
        </div>
      </section>
    );
  }
  if (text === null || !graph) {
    return parseError ? (
      <FirstParseError text={text ?? ""} error={parseError} onText={setText} />
    ) : (
      <p className="muted builder-msg">Loading the flow…</p>
    );
  }

  const targetWords = (() => {
    const at = insertAt ?? afterSelected();
    if (!at) return "at the end of the flow";
    if (insertAt) return `at the chosen + (position ${at.index + 1})`;
    return selected === "trigger" ? "as the first step" : `after ${selectedStep?.id}`;
  })();
  const problemCount = parseError ? 1 : serverProblems.length;

  return (
    <div className={`builder${showYaml ? "" : " no-yaml"}`}>
      <header className="builder-bar">
        <h1>
          {graph.name || "untitled"}
          <span className="muted small"> {base ? `v${base.version} deployed` : flowParam ? "" : "new flow"}</span>
        </h1>
        <span className={`badge ${parseError || serverProblems.length ? "error" : "ok"}`} role="status" aria-label="Validation" aria-live="polite">
          {parseError ? `YAML error, line ${parseError.line}` : validating ? "checking…" : serverProblems.length ? `${problemCount} problem(s)` : online ? "valid" : "not checked"}
        </span>
        {savedAt && <span className="muted small">draft saved {hhmm(savedAt)}</span>}
        <span className="grow" />
        <button type="button" className="secondary" aria-pressed={showYaml} onClick={() => setShowYaml((v) => !v)}>
          {showYaml ? "Hide YAML" : "Show YAML"}
        </button>
        <button type="button" onClick={() => setDeploying(true)} disabled={!!parseError || !online}>
          Deploy…
        </button>
      </header>
      <div className="builder-banners">
        {!online && (
          <div className="banner bad" role="alert">
            The Weft server cannot be reached. Your edits are kept in this browser{savedAt ? ` (draft saved ${hhmm(savedAt)})` : ""}; checking again every 5 seconds.
          </div>
        )}
        {restored && (
          <div className="banner" role="status">
            Restored an unsaved draft from {hhmm(restored)}.{" "}
            <button type="button" className="ghost small" onClick={discard}>
              Discard
            </button>
            <button type="button" className="ghost small" onClick={() => setRestored(null)}>
              Keep it
            </button>
          </div>
        )}
        {parseError && (
          <div className="banner bad" role="alert">
            YAML error at line {parseError.line}:{parseError.col}: {parseError.message}. The canvas shows the last version that parsed; canvas edits wait until the YAML parses.
          </div>
        )}
        {notice && (
          <div className={`banner ${notice.kind === "error" ? "bad" : "good"}`} role={notice.kind === "error" ? "alert" : "status"}>
            {notice.text}{" "}
            <button type="button" className="ghost small" aria-label="Dismiss" onClick={() => setNotice(null)}>
              ✕
            </button>
          </div>
        )}
      </div>
      <Palette catalog={catalog} onPick={(i) => insertItem(i)} target={targetWords} searchRef={searchRef} disabled={!!parseError} onReload={reloadCatalog} />
      <div className="builder-canvas">
        <Canvas
          graph={graph}
          problems={nodeProblems}
          results={results}
          selected={selected}
          insertAt={insertAt}
          readOnly={!!parseError}
          onSelect={select}
          onPlus={onPlus}
          onDrop={onDrop}
          onDelete={onDelete}
          theme={theme}
        />
      </div>
      {showYaml && painted && (
        <div className="builder-yaml">
          {paneErr ? (
            <p className="error small pad" role="alert">
              The YAML editor could not be loaded ({paneErr}).{" "}
              <button type="button" className="ghost small" onClick={retryPane}>
                Try again
              </button>
            </p>
          ) : !pane ? (
            <p className="muted small pad">Loading the editor…</p>
          ) : (
            <pane.default
              value={text}
              onChange={setText}
              problems={paneProblems}
              schema={schema}
              extraKeys={extraKeys}
              expr={exprAt}
              revealLine={revealLine}
              onCursorLine={onCursorLine}
              theme={theme}
            />
          )}
        </div>
      )}
      <aside className="builder-side" aria-label="Panels">
        <div role="tablist" aria-label="Builder panels" className="tabs">
          {[{ id: "settings", label: "Settings" }, ...panels].map((p) => (
            <button key={p.id} role="tab" type="button" id={`tab-${p.id}`} aria-selected={tab === p.id} aria-controls={`panel-${p.id}`} className={tab === p.id ? "tab active" : "tab"} onClick={() => setTab(p.id)}>
              {p.label}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tabpanel">
          {tab === "settings" ? (
            <Settings
              graph={graph}
              catalog={catalog}
              selected={selected}
              set={set}
              apply={apply}
              problemsAt={problemsAt}
              nodeProblems={selected ? nodeProblems.get(selected) ?? [] : problems.filter((p) => !p.key).map((p) => (p.line ? `line ${p.line}: ${p.message}` : p.message))}
              readOnly={!!parseError}
              onDelete={onDelete}
              onMove={onMove}
            />
          ) : (
            ctx && panels.find((p) => p.id === tab)?.render(ctx)
          )}
        </div>
      </aside>
      {(base || flowParam) && graph.name && (
        <footer className="builder-runs">
          <LastRuns flow={graph.name} refresh={runsTick} />
        </footer>
      )}
      {deploying && <DeployDialog name={graph.name} text={text} onClose={() => setDeploying(false)} onDeployed={onDeployed} />}
    </div>
  );
}

/** FirstParseError: the very first text does not parse (a restored draft, a broken deployed source): fix it as text. */
function FirstParseError({ text, error, onText }: { text: string; error: { line: number; col: number; message: string }; onText(t: string): void }) {
  const [v, setV] = useState(text);
  return (
    <section className="builder-msg">
      <p className="error" role="alert">
        This YAML does not parse (line {error.line}:{error.col}: {error.message}). Fix it here to open it on the canvas.
      </p>
      <textarea aria-label="Flow YAML" rows={20} cols={90} value={v} onChange={(e) => setV(e.target.value)} />
      <div className="toolbar">
        <button type="button" onClick={() => onText(v)}>
          Open
        </button>
      </div>
    </section>
  );
}
