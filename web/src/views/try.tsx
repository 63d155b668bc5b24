// "Try a draft" (#/try): a plain YAML text area with the builder's three side
// panels around it (Test run, Describe it, Suggest mapping), plus Validate and
// Deploy. Useful on its own for people who prefer text, and the panels' home
// until the builder's canvas hosts them. The draft is kept in this browser.
import { useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError } from "../api";
import { href, type Route } from "../router";
import { DescribePanel } from "../builder/panels/describe";
import { SuggestMappingPanel } from "../builder/panels/mapping";
import { TestRunPanel } from "../builder/panels/testrun";
import { Problems } from "../builder/panels/common";
import { flowInfo, patchStepYaml, problemsOf } from "../builder/panels/logic";
import type { Problem, StepResult } from "../builder/panels/types";
import "./try.css";

const storeKey = "weft.try.source";
const tabs = [
  { id: "test", label: "Test run" },
  { id: "describe", label: "Describe it" },
  { id: "mapping", label: "Suggest mapping" },
] as const;
type Tab = (typeof tabs)[number]["id"];

export default function TryView(_: { route: Route }) {
  const [source, setSourceRaw] = useState<string | null>(() => localStorage.getItem(storeKey));
  const [loadErr, setLoadErr] = useState("");
  const [flows, setFlows] = useState<string[]>([]);
  const [tab, setTab] = useState<Tab>("test");
  const [selected, setSelected] = useState("");
  const [results, setResults] = useState<Record<string, StepResult>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [msg, setMsg] = useState<{ ok: boolean; text: string; link?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);

  const setSource = (s: string) => {
    setSourceRaw(s);
    try {
      localStorage.setItem(storeKey, s);
    } catch {
      /* storage full or off: the draft still lives in the page */
    }
  };

  const load = async (name: string) => {
    setLoadErr("");
    try {
      const f = await api<{ source: string }>(`/api/flows/${encodeURIComponent(name)}`);
      setSource(f.source);
      setResults({});
      setProblems([]);
      setMsg(null);
    } catch (e) {
      setLoadErr(e instanceof ApiError && e.status === 404 ? `There is no deployed flow ${name}.` : (e as Error).message);
      if (source === null) setSource("");
    }
  };

  useEffect(() => {
    if (source === null) load("order-flow");
    api<{ flows: { name: string }[] }>("/api/flows")
      .then((r) => setFlows((r.flows ?? []).map((f) => f.name)))
      .catch(() => setFlows([]));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const info = useMemo(() => flowInfo(source ?? ""), [source]);
  useEffect(() => {
    if (selected && !info.steps.some((s) => s.id === selected)) setSelected("");
  }, [info, selected]);

  const jump = (pos?: string) => {
    const m = pos && /:(\d+):(\d+)$/.exec(pos);
    const el = area.current;
    if (!m || !el) return;
    const lines = el.value.split("\n");
    const line = Math.min(Number(m[1]), lines.length);
    let off = 0;
    for (let i = 0; i < line - 1; i++) off += lines[i].length + 1;
    off += Math.max(0, Number(m[2]) - 1);
    el.focus();
    el.setSelectionRange(off, off);
  };

  const check = async (deploy: boolean) => {
    if (source === null) return;
    setBusy(true);
    setProblems([]);
    setMsg(null);
    const file = (info.name || "draft") + ".yaml";
    try {
      if (deploy) {
        const r = await api<{ name: string; version: number }>(`/api/flows?file=${encodeURIComponent(file)}`, { raw: { data: source, type: "application/yaml" } });
        setMsg({ ok: true, text: `Deployed ${r.name} as version ${r.version}.`, link: "/flows/" + encodeURIComponent(r.name) });
        setFlows((fs) => (fs.includes(r.name) ? fs : [...fs, r.name].sort()));
      } else {
        const r = await api<{ name: string; steps: number }>(`/api/flows/validate?file=${encodeURIComponent(file)}`, { raw: { data: source, type: "application/yaml" } });
        setMsg({ ok: true, text: `${r.name} is valid (${r.steps} top-level step${r.steps === 1 ? "" : "s"}).` });
      }
    } catch (e) {
      const ps = e instanceof ApiError ? problemsOf(e) : [];
      if (ps.length) setProblems(ps);
      else setMsg({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const patch = (stepId: string, key: "with" | "set", value: Record<string, string>) => {
    try {
      setSource(patchStepYaml(source ?? "", stepId, key, value));
      setMsg({ ok: true, text: `Step ${stepId}'s ${key} changed: ${Object.keys(value).join(", ")}.` });
    } catch (e) {
      setMsg({ ok: false, text: (e as Error).message });
    }
  };

  if (source === null) return <p className="muted">Loading the order-flow example…</p>;
  const resultIds = Object.keys(results);
  return (
    <section className="try">
      <header className="pagehead">
        <h1>Try a draft</h1>
        <span className="muted">Edit a flow as YAML; test-run it, describe one in English, or get mapping suggestions. Nothing is deployed until you press Deploy.</span>
      </header>
      <div className="try-grid">
        <div className="try-editor">
          <div className="toolbar">
            <label className="pn-inline">
              Load
              <select aria-label="Load a deployed flow" value="" onChange={(e) => e.target.value && load(e.target.value)}>
                <option value="">a deployed flow…</option>
                {flows.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="secondary" onClick={() => check(false)} disabled={busy}>
              Validate
            </button>
            <button type="button" onClick={() => check(true)} disabled={busy || !source.trim()}>
              Deploy
            </button>
          </div>
          {loadErr && <p className="error">{loadErr}</p>}
          <textarea
            ref={area}
            className="try-yaml"
            aria-label="Draft YAML"
            spellCheck={false}
            value={source}
            onChange={(e) => setSource(e.target.value)}
            placeholder={"name: my-flow\ntrigger:\n  webhook: {}\nsteps:\n  - id: hello\n    set: {greeting: hello}"}
          />
          {info.error && source.trim() && <p className="error">{info.error}</p>}
          {msg && (
            <p className={msg.ok ? "ok" : "error"} role={msg.ok ? "status" : "alert"}>
              {msg.text} {msg.link && <a href={href(msg.link)}>Open it</a>}
            </p>
          )}
          {problems.length > 0 && (
            <div>
              <Problems problems={problems} title="The draft does not validate:" />
              <div className="toolbar">
                {problems.filter((p) => p.pos).map((p, i) => (
                  <button key={i} type="button" className="secondary" onClick={() => jump(p.pos)}>
                    Go to {p.pos!.replace(/^.*?:(\d+:\d+)$/, "$1")}
                  </button>
                ))}
              </div>
            </div>
          )}
          <label>
            Selected step (for Suggest mapping)
            <select value={selected} onChange={(e) => setSelected(e.target.value)}>
              <option value="">none</option>
              {info.steps.map((s) => (
                <option key={s.path} value={s.id}>
                  {s.id} ({s.kind}{s.kind === "call" ? " " + String(s.raw.call) : ""})
                </option>
              ))}
            </select>
          </label>
          {resultIds.length > 0 && (
            <div className="try-results" aria-label="Last test run on the steps">
              <span className="muted">Last test run:</span>
              {resultIds.map((id) => (
                <span key={id} className={"badge " + results[id].status} title={results[id].error?.message}>
                  {id}: {results[id].status}
                </span>
              ))}
            </div>
          )}
        </div>
        <div className="try-side">
          <div role="tablist" aria-label="Panels" className="try-tabs">
            {tabs.map((t) => (
              <button
                key={t.id}
                role="tab"
                id={"try-tab-" + t.id}
                aria-selected={tab === t.id}
                aria-controls={"try-panel-" + t.id}
                className={tab === t.id ? "" : "ghost"}
                tabIndex={tab === t.id ? 0 : -1}
                onClick={() => setTab(t.id)}
                onKeyDown={(e) => {
                  const i = tabs.findIndex((x) => x.id === tab);
                  const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
                  if (!d) return;
                  const next = tabs[(i + d + tabs.length) % tabs.length].id;
                  setTab(next);
                  document.getElementById("try-tab-" + next)?.focus();
                }}
              >
                {t.label}
              </button>
            ))}
          </div>
          <div role="tabpanel" id="try-panel-test" aria-labelledby="try-tab-test" hidden={tab !== "test"}>
            <TestRunPanel source={source} onReplaceSource={setSource} onStepResults={setResults} />
          </div>
          <div role="tabpanel" id="try-panel-describe" aria-labelledby="try-tab-describe" hidden={tab !== "describe"}>
            <DescribePanel
              source={source}
              onReplaceSource={(y) => {
                setSource(y);
                setResults({});
                setProblems([]);
                setMsg({ ok: true, text: "The draft from your description is in the editor." });
              }}
            />
          </div>
          <div role="tabpanel" id="try-panel-mapping" aria-labelledby="try-tab-mapping" hidden={tab !== "mapping"}>
            <SuggestMappingPanel source={source} onReplaceSource={setSource} selectedStepId={selected || undefined} onPatchStep={patch} stepResults={results} />
          </div>
        </div>
      </div>
    </section>
  );
}
