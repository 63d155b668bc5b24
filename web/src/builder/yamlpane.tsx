// The YAML beside the canvas: CodeMirror 6 (this module is its own lazily
// loaded chunk), YAML highlighting, key completion from the flow's JSON
// Schema and the operation's input, expression completion, and the
// validator's problems as lint diagnostics at their lines. External changes
// (canvas and form edits) are applied as the smallest replacement, so the
// cursor and undo history stay where the text did not change.
//
// The editor lives in a shadow root: CodeMirror puts its styles in a <style>
// element in a document (which the console's CSP, style-src 'self', blocks)
// but in adopted (constructed) style sheets in a shadow root, which it allows.
import { useEffect, useRef } from "react";
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection } from "@codemirror/view";
import { Annotation, Compartment, EditorState } from "@codemirror/state";
import { yaml } from "@codemirror/lang-yaml";
import { autocompletion, completionKeymap, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { syntaxHighlighting, indentOnInput, bracketMatching, foldGutter, indentUnit } from "@codemirror/language";
import { classHighlighter } from "@lezer/highlight";
import { yamlContext, schemaKeys, type KeyCompletion, type YamlContext } from "./yamlcomplete";
import type { JSONSchema } from "./catalog";
import type { Completion } from "./exprcomplete";
import paneCSS from "./yamlpane.css?inline";

export interface LineProblem {
  line: number;
  col: number;
  message: string;
  severity?: "error" | "warning";
}

export interface YamlPaneProps {
  value: string;
  onChange(text: string): void;
  problems: LineProblem[];
  schema: JSONSchema | null;
  /** keys that depend on the flow (a call's `with` from its operation) */
  extraKeys?(ctx: YamlContext, pos: number, text: string): KeyCompletion[];
  /** expression completion inside a value starting with "=" at pos */
  expr?(pos: number, before: string): { from: number; items: Completion[] } | null;
  /** scroll this 1-based line into view when it changes */
  revealLine?: number;
  onCursorLine?(line: number): void;
  theme: "light" | "dark";
}

const External = Annotation.define<boolean>();

function toDiagnostics(state: EditorState, problems: LineProblem[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of problems) {
    if (!p.line || p.line > state.doc.lines) continue;
    const l = state.doc.line(p.line);
    const from = Math.min(l.from + Math.max(0, p.col - 1), l.to);
    out.push({ from, to: Math.max(from, l.to), severity: p.severity ?? "error", message: p.message, source: "weft" });
  }
  return out;
}

export default function YamlPane(props: YamlPaneProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const boxRef = useRef<HTMLDivElement | null>(null);
  const emitted = useRef(new Set<string>());
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const shadow = host.current!.shadowRoot ?? host.current!.attachShadow({ mode: "open" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(paneCSS);
    shadow.adoptedStyleSheets = [sheet];
    const box = document.createElement("div");
    box.className = "yamlpane";
    shadow.replaceChildren(box);
    boxRef.current = box;
    box.classList.toggle("dark", latest.current.theme === "dark");
    const complete = (ctx: CompletionContext): CompletionResult | null => {
      const p = latest.current;
      const text = ctx.state.doc.toString();
      const line = ctx.state.doc.lineAt(ctx.pos);
      const before = text.slice(line.from, ctx.pos);
      // an expression value: ": =..." or "- =..."
      const ex = /(?::|-)\s+['"]?=(.*)$/.exec(before);
      if (ex && p.expr) {
        const r = p.expr(ctx.pos, before);
        if (!r || (!ctx.explicit && r.from === line.from + before.length && !/[.\w]$/.test(before))) return null;
        return { from: line.from + r.from, options: r.items.map((i) => ({ label: i.label, type: "property", detail: i.type, info: i.detail })), validFor: /^\w*$/ };
      }
      const yc = yamlContext(text, ctx.pos);
      if (!yc) return null;
      if (!ctx.explicit && !yc.prefix && !yc.valueOf) return null;
      const keys = [...(p.schema ? schemaKeys(p.schema, yc) : []), ...(p.extraKeys ? p.extraKeys(yc, ctx.pos, text) : [])];
      if (!keys.length) return null;
      return {
        from: yc.from,
        options: keys.map((k) => ({ label: k.label, apply: yc.valueOf ? k.label : k.label + ": ", type: yc.valueOf ? "enum" : "property", detail: k.detail, info: k.info })),
        validFor: /^[\w-]*$/,
      };
    };
    const v = new EditorView({
      parent: box,
      root: shadow,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          foldGutter(),
          lintGutter(),
          highlightActiveLineGutter(),
          highlightActiveLine(),
          drawSelection(),
          history(),
          indentOnInput(),
          bracketMatching(),
          indentUnit.of("  "),
          EditorState.tabSize.of(2),
          syntaxHighlighting(classHighlighter),
          yaml(),
          autocompletion({ override: [complete], activateOnTyping: true }),
          keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.contentAttributes.of({ "aria-label": "Flow YAML" }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged && !u.transactions.some((t) => t.annotation(External))) {
              const t = u.state.doc.toString();
              emitted.current.add(t);
              latest.current.onChange(t);
            }
            if (u.selectionSet && latest.current.onCursorLine && u.transactions.some((t) => t.isUserEvent("select") || t.isUserEvent("input"))) {
              latest.current.onCursorLine(u.state.doc.lineAt(u.state.selection.main.head).number);
            }
          }),
          themeComp.of(EditorView.darkTheme.of(props.theme === "dark")),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // External edits: replace only what changed. A value this editor sent
  // itself (the page catching up with typing) is not one: applying it would
  // undo what was typed since.
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const cur = v.state.doc.toString();
    const next = props.value;
    if (cur === next) {
      emitted.current.clear();
      return;
    }
    if (emitted.current.has(next)) return;
    emitted.current.clear();
    let a = 0;
    while (a < cur.length && a < next.length && cur[a] === next[a]) a++;
    let b = 0;
    while (b < cur.length - a && b < next.length - a && cur[cur.length - 1 - b] === next[next.length - 1 - b]) b++;
    v.dispatch({ changes: { from: a, to: cur.length - b, insert: next.slice(a, next.length - b) }, annotations: External.of(true) });
  }, [props.value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    v.dispatch(setDiagnostics(v.state, toDiagnostics(v.state, props.problems)));
  }, [props.problems, props.value]);

  useEffect(() => {
    view.current?.dispatch({ effects: themeComp.reconfigure(EditorView.darkTheme.of(props.theme === "dark")) });
    boxRef.current?.classList.toggle("dark", props.theme === "dark");
  }, [props.theme]);

  useEffect(() => {
    const v = view.current;
    if (!v || !props.revealLine || props.revealLine > v.state.doc.lines) return;
    const pos = v.state.doc.line(props.revealLine).from;
    v.dispatch({ effects: EditorView.scrollIntoView(pos, { y: "start", yMargin: 40 }) });
  }, [props.revealLine]);

  return <div className="yamlpane-host" ref={host} data-testid="yaml-editor" />;
}

const themeComp = new Compartment();
