/// <reference types="vite/client" />
// The flows the round-trip property runs over: every flow YAML in the
// repository (examples/, bench/, the flows in README and docs/), and the
// nl2flow evals' gold flows, which are stored as outlines (trigger | steps |
// parameters) and turned into flow YAML here, with comments.
import { parse } from "yaml";

const yamlFiles = import.meta.glob(["../../**/*.{yaml,yml}", "!../../web/**", "!../../third_party/**", "!../../.tools/**", "!**/node_modules/**"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

const docs = import.meta.glob(["../../README.md", "../../docs/*.md"], { query: "?raw", import: "default", eager: true }) as Record<string, string>;

const gold = import.meta.glob("../../evals/nl2flow/data/*.txt", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

export interface FlowFile {
  name: string;
  text: string;
}

function isFlow(text: string): boolean {
  try {
    const v = parse(text);
    return v && typeof v === "object" && "name" in v && "steps" in v && Array.isArray(v.steps);
  } catch {
    return false;
  }
}

/** repoFlows: YAML files of the repository that are flows (name, steps). */
export function repoFlows(): FlowFile[] {
  return Object.entries(yamlFiles)
    .filter(([, t]) => isFlow(t))
    .map(([p, text]) => ({ name: p.replace("../../", ""), text }));
}

/** docFlows: ```yaml blocks and <<'YAML' here-documents of README and docs/ that are flows. */
export function docFlows(): FlowFile[] {
  const out: FlowFile[] = [];
  for (const [p, md] of Object.entries(docs)) {
    const re = /```ya?ml\n([\s\S]*?)```|<<'?YAML'?\n([\s\S]*?\n)YAML\n/g;
    let m: RegExpExecArray | null;
    let n = 0;
    while ((m = re.exec(md))) {
      n++;
      const text = m[1] ?? m[2];
      if (isFlow(text)) out.push({ name: `${p.replace("../../", "")}#${n}`, text });
    }
  }
  return out;
}

/** goldFlows: the nl2flow eval's gold outlines written as flows. */
export function goldFlows(): FlowFile[] {
  const out: FlowFile[] = [];
  for (const [p, txt] of Object.entries(gold)) {
    txt.split("\n").forEach((line, i) => {
      if (!line.trim() || line.startsWith("#")) return;
      const [style, request, trigger, steps, params] = line.split(" | ").map((s) => s.trim());
      out.push({ name: `${p.replace("../../", "")}:${i + 1}`, text: outlineToFlow(`gold-${i + 1}`, style, request, trigger, steps, params ?? "") });
    });
  }
  return out;
}

type Outline = { op?: string; kind?: "if" | "else" | "each"; body?: Outline[] };

function parseSteps(s: string): Outline[] {
  const out: Outline[] = [];
  let i = 0;
  const read = (): Outline[] => {
    const items: Outline[] = [];
    while (i < s.length) {
      while (s[i] === " ") i++;
      if (i >= s.length || s[i] === ")") break;
      let j = i;
      while (j < s.length && !" ()".includes(s[j])) j++;
      const word = s.slice(i, j);
      i = j;
      if (s[i] === "(") {
        i++;
        const body = read();
        i++; // ")"
        items.push({ kind: word as Outline["kind"], body });
      } else items.push({ op: word });
    }
    return items;
  };
  out.push(...read());
  return out;
}

function q(v: string): string {
  return JSON.stringify(v);
}

function outlineToFlow(name: string, style: string, request: string, trigger: string, steps: string, params: string): string {
  const ps = params
    .split(";")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const k = p.indexOf("=");
      return [p.slice(0, k), p.slice(k + 1)] as [string, string];
    });
  const lines: string[] = [`# ${style}: ${request.replace(/\n/g, " ")}`, `name: ${name}`, `description: ${q(request)}`, "trigger:"];
  const [tk, ...targs] = trigger.split(" ");
  if (tk === "poll") {
    lines.push("  poll:", `    operation: ${targs[0]}`, `    connection: ${targs[0].split(".")[0]}  # the connector's connection`);
    const input = ps.filter(([k]) => k.startsWith("trigger."));
    if (input.length) lines.push("    input:", ...input.map(([k, v]) => `      ${k.slice(8)}: ${q(v)}`));
    lines.push("    every: 1m");
  } else if (tk === "schedule") {
    lines.push("  schedule:", `    cron: ${q(targs.slice(0, 5).join(" "))}`, `    timezone: ${targs[5] ?? "UTC"}`);
  } else if (tk === "webhook") lines.push("  webhook: {mode: async}");
  else lines.push("  manual: {}");
  const cond = ps.find(([k]) => k === "if")?.[1] ?? "true";
  const each = ps.find(([k]) => k === "each")?.[1] ?? "items";
  let n = 0;
  const emit = (items: Outline[], ind: string) => {
    for (let k = 0; k < items.length; k++) {
      const it = items[k];
      n++;
      if (it.op) {
        lines.push(`${ind}# step ${n}: ${it.op}`, `${ind}- id: s${n}`, `${ind}  call: ${it.op}`, `${ind}  connection: ${it.op.split(".")[0]}`);
        const args = ps.filter(([pk]) => pk.startsWith(it.op + "."));
        if (args.length) {
          lines.push(`${ind}  with:`);
          for (const [pk, v] of args) {
            const val = v.startsWith("@") ? `=trigger.body.${v.slice(1)}` : v;
            lines.push(`${ind}    ${pk.slice(it.op.length + 1)}: ${q(val)}  # ${v.startsWith("@") ? "from the trigger" : "a literal"}`);
          }
        }
      } else if (it.kind === "if") {
        const [f, op, ...rest] = cond.split(" ");
        const v = rest.join(" ");
        const rhs = /^[0-9.]+$/.test(v) ? v : q(v);
        lines.push(`${ind}- id: s${n}  # a condition`, `${ind}  if: ${q(`=trigger.body.${f} ${op ?? "=="} ${rhs}`)}`, `${ind}  then:`);
        emit(it.body ?? [], ind + "    ");
        const next = items[k + 1];
        if (next?.kind === "else") {
          lines.push(`${ind}  else:  # otherwise`);
          emit(next.body ?? [], ind + "    ");
          k++;
        }
      } else if (it.kind === "each") {
        lines.push(`${ind}- id: s${n}`, `${ind}  foreach: =trigger.body.${each}`, `${ind}  concurrency: 2`, `${ind}  do:`, `${ind}    # each item`);
        emit(it.body ?? [], ind + "    ");
      }
    }
  };
  lines.push("steps:");
  emit(parseSteps(steps), "  ");
  lines.push("# end of flow");
  return lines.join("\n") + "\n";
}
