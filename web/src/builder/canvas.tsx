// The canvas: the flow drawn with React Flow from the hand-written nested
// layout (layout.ts). Branching steps are containers holding one group per
// branch; every edge between two steps has a "+" that inserts there (click,
// or drop a palette item or a dragged step on it); each sequence ends with an
// "Add step" target. A node shows its id, kind, operation, the validator's
// problems at its YAML range and, after a test run, its output.
import { createContext, memo, useContext, useEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from "react";
import {
  ReactFlow,
  ReactFlowProvider,
  Background,
  Controls,
  MiniMap,
  Handle,
  Position,
  BaseEdge,
  EdgeLabelRenderer,
  getStraightPath,
  useReactFlow,
  type Node,
  type Edge,
  type NodeProps,
  type EdgeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./canvas.css";
import { layout, STEP_H, type LNode } from "./layout";
import type { Graph, Path, StepNode } from "./model";
import { pathKey } from "./model";
import { DRAG_TYPE, readDrag, startDrag, type DragPayload } from "./dnd";

export interface StepResult {
  status: string;
  output?: unknown;
  error?: { code?: string; message: string } | null;
}

export interface InsertPoint {
  seq: Path;
  index: number;
}

export interface CanvasProps {
  graph: Graph;
  /** validator problems per node key ("trigger" or a step's key) */
  problems: Map<string, string[]>;
  /** a test run's results per step id */
  results?: Record<string, StepResult>;
  selected: string | null;
  insertAt: InsertPoint | null;
  /** no edits (the YAML does not parse: the canvas shows the last good graph) */
  readOnly: boolean;
  onSelect(key: string | null): void;
  onPlus(at: InsertPoint): void;
  onDrop(at: InsertPoint, payload: DragPayload): void;
  onDelete(key: string): void;
  theme: "light" | "dark";
}

interface Ctx {
  props: CanvasProps;
}
const CanvasCtx = createContext<Ctx>(null as unknown as Ctx);

type NData = { l: LNode; problems?: string[]; result?: StepResult };

/** useDrop makes an element a drop target for palette items and moved steps. */
function useDrop(at: InsertPoint | null, props: CanvasProps) {
  const [over, setOver] = useState(false);
  if (!at || props.readOnly) return { over: false, handlers: {} };
  return {
    over,
    handlers: {
      onDragOver: (e: DragEvent) => {
        if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
        e.preventDefault();
        e.stopPropagation();
        // must be one the drag allows: a moved step "move", a palette item "copy"
        e.dataTransfer.dropEffect = e.dataTransfer.effectAllowed === "move" ? "move" : "copy";
        setOver(true);
      },
      onDragLeave: () => setOver(false),
      onDrop: (e: DragEvent) => {
        const p = readDrag(e);
        setOver(false);
        if (!p) return;
        e.preventDefault();
        e.stopPropagation();
        props.onDrop(at, p);
      },
    },
  };
}

const KIND_ICON: Record<string, string> = {
  trigger: "⚡", call: "⇄", set: "≔", if: "◇", switch: "⑂", foreach: "↻", wait: "⏱", respond: "↩", fail: "✕", subflow: "⧉", unknown: "?",
};

function StepCard({ d, step }: { d: NData; step?: StepNode }) {
  const { props } = useContext(CanvasCtx);
  const key = d.l.id;
  const selected = props.selected === key;
  const kind = step ? step.kind : "trigger";
  const title = step ? step.id : "trigger";
  const sub = step ? (step.kind === "unknown" ? step.unknown ?? "" : step.summary) : props.graph.trigger.summary;
  const problems = d.problems ?? [];
  const parent = step ? { seq: step.path.slice(0, -1), index: step.path[step.path.length - 1] as number } : { seq: ["steps"], index: -1 };
  const drop = useDrop(step ? { seq: parent.seq, index: parent.index + 1 } : { seq: ["steps"], index: 0 }, props);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      props.onSelect(key);
    } else if ((e.key === "Delete" || e.key === "Backspace") && step && !props.readOnly) {
      e.preventDefault();
      props.onDelete(key);
    }
  };
  const res = d.result;
  const shown = step ? step.kind : props.graph.trigger.kind;
  const label = `${step ? `step ${title}, ${kind}` : `trigger, ${shown}`}${step?.call ? " " + step.call : ""}${problems.length ? `, ${problems.length} problem(s)` : ""}`;
  return (
    <div
      className={`card-node kind-${kind}${selected ? " selected" : ""}${problems.length ? " has-problem" : ""}${drop.over ? " drop-over" : ""}`}
      role="button"
      tabIndex={0}
      aria-label={label}
      aria-pressed={selected}
      onClick={(e) => {
        e.stopPropagation();
        props.onSelect(key);
      }}
      onKeyDown={onKey}
      {...drop.handlers}
    >
      <div className="card-head">
        <span className="kind" title={shown}>
          {KIND_ICON[kind] ?? "?"} {shown}
        </span>
        <strong className="id">{title}</strong>
        {problems.length > 0 && (
          <span className="badge problem" title={problems.join("\n")} aria-label={`${problems.length} problem(s)`}>
            ⚠ {problems.length}
          </span>
        )}
        {res && <span className={`badge ${res.status}`}>{res.status}</span>}
        {step && !props.readOnly && (
          <span
            className="grip nodrag nopan"
            draggable
            title="Drag onto a + to move this step"
            aria-hidden="true"
            onDragStart={(e) => {
              e.stopPropagation();
              startDrag(e, { type: "move", key });
            }}
          >
            ⠿
          </span>
        )}
      </div>
      <div className="card-sub mono" title={sub}>
        {sub || "\u00a0"}
      </div>
      {problems.length > 0 ? (
        <div className="card-msg error" title={problems.join("\n")}>
          {problems[0]}
        </div>
      ) : res ? (
        <div className={`card-msg mono ${res.status === "failed" ? "error" : ""}`} title={preview(res, 2000)} data-testid={`output-${title}`}>
          {preview(res, 90)}
        </div>
      ) : null}
    </div>
  );
}

function preview(r: StepResult, n: number): string {
  let s = r.error ? r.error.message : r.output === undefined ? "" : JSON.stringify(r.output);
  if (s.length > n) s = s.slice(0, n - 1) + "…";
  return s;
}

const StepNodeView = memo(function StepNodeView({ data }: NodeProps<Node<NData>>) {
  return (
    <>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <StepCard d={data} step={data.l.step} />
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </>
  );
});

const TriggerNodeView = memo(function TriggerNodeView({ data }: NodeProps<Node<NData>>) {
  return (
    <>
      <StepCard d={data} />
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </>
  );
});

const ControlNodeView = memo(function ControlNodeView({ data }: NodeProps<Node<NData>>) {
  return (
    <div className="control-box">
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <StepCard d={data} step={data.l.step} />
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});

const BranchNodeView = memo(function BranchNodeView({ data }: NodeProps<Node<NData>>) {
  const { props } = useContext(CanvasCtx);
  const drop = useDrop(data.l.seq ? { seq: data.l.seq, index: Number.MAX_SAFE_INTEGER } : null, props);
  return <div className={`branch-box${drop.over ? " drop-over" : ""}`} {...drop.handlers} aria-hidden="true" />;
});

const LabelNodeView = memo(function LabelNodeView({ data }: NodeProps<Node<NData>>) {
  return (
    <div className="branch-label mono" title={data.l.label}>
      {data.l.label}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});

function seqName(seq: Path): string {
  const last = seq[seq.length - 1];
  if (seq.length === 1) return "the flow";
  if (last === "steps") return `case ${(seq[seq.length - 2] as number) + 1}`;
  return String(last);
}

const EndNodeView = memo(function EndNodeView({ data }: NodeProps<Node<NData>>) {
  const { props } = useContext(CanvasCtx);
  const at = { seq: data.l.seq!, index: data.l.index! };
  const drop = useDrop(at, props);
  const active = props.insertAt && pathKey(props.insertAt.seq) === pathKey(at.seq) && props.insertAt.index === at.index;
  return (
    <>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <button
        className={`end-node nodrag${drop.over ? " drop-over" : ""}${active ? " active" : ""}`}
        disabled={props.readOnly}
        aria-label={`Add a step at the end of ${seqName(at.seq)}`}
        onClick={(e) => {
          e.stopPropagation();
          props.onPlus(at);
        }}
        {...drop.handlers}
      >
        + Add step
      </button>
    </>
  );
});

type EData = { seq?: Path; index?: number };

const PlusEdge = memo(function PlusEdge(p: EdgeProps<Edge<EData>>) {
  const { props } = useContext(CanvasCtx);
  const [path, lx, ly] = getStraightPath({ sourceX: p.sourceX, sourceY: p.sourceY, targetX: p.targetX, targetY: p.targetY });
  const at = p.data?.seq ? { seq: p.data.seq, index: p.data.index! } : null;
  const drop = useDrop(at, props);
  const active = at && props.insertAt && pathKey(props.insertAt.seq) === pathKey(at.seq) && props.insertAt.index === at.index;
  return (
    <>
      <BaseEdge id={p.id} path={path} markerEnd={p.markerEnd} />
      {at && !props.readOnly && (
        <EdgeLabelRenderer>
          <button
            className={`edge-plus nodrag nopan${drop.over ? " drop-over" : ""}${active ? " active" : ""}`}
            style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}
            aria-label={`Insert a step at position ${at.index + 1} of ${seqName(at.seq)}`}
            title="Insert a step here (click, or drop a palette item)"
            onClick={(e) => {
              e.stopPropagation();
              props.onPlus(at);
            }}
            {...drop.handlers}
          >
            +
          </button>
        </EdgeLabelRenderer>
      )}
    </>
  );
});

const noop = () => {};

const nodeTypes = { step: StepNodeView, trigger: TriggerNodeView, control: ControlNodeView, branch: BranchNodeView, label: LabelNodeView, end: EndNodeView };
const edgeTypes = { plus: PlusEdge };

const KIND_COLOR: Record<string, string> = { call: "#4c6ef5", set: "#2f9e44", if: "#e8590c", switch: "#e8590c", foreach: "#ae3ec9", respond: "#1098ad", fail: "#e03131", trigger: "#f08c00" };

function Inner(props: CanvasProps) {
  const lay = useMemo(() => layout(props.graph), [props.graph]);
  const rf = useReactFlow();
  const wrap = useRef<HTMLDivElement>(null);
  const nodes: Node<NData>[] = useMemo(
    () =>
      lay.nodes.map((l) => {
        const key = l.id;
        const stepId = l.step?.id;
        return {
          id: key,
          type: l.kind,
          position: { x: l.x, y: l.y },
          parentId: l.parent,
          width: l.w,
          height: l.h,
          draggable: false,
          selectable: false,
          connectable: false,
          focusable: false,
          zIndex: l.kind === "branch" ? 0 : undefined,
          data: {
            l,
            problems: l.kind === "step" || l.kind === "control" || l.kind === "trigger" ? props.problems.get(key) : undefined,
            result: stepId && props.results ? props.results[stepId] : undefined,
          },
        };
      }),
    [lay, props.problems, props.results],
  );
  const edges: Edge<EData>[] = useMemo(
    () => lay.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, type: "plus", data: { seq: e.seq, index: e.index }, selectable: false, focusable: false })),
    [lay],
  );
  // Open at the top of the flow, as wide as fits (a 500-step flow is tall).
  const opened = useRef(false);
  useEffect(() => {
    if (opened.current || !wrap.current) return;
    opened.current = true;
    const w = wrap.current.clientWidth || 800;
    const zoom = Math.max(0.4, Math.min(1, (w - 40) / (lay.width + 40)));
    rf.setViewport({ x: (w - lay.width * zoom) / 2, y: 24, zoom });
  }, [lay, rf]);
  // A node selected from elsewhere (a new step, the YAML cursor) is brought into view.
  const abs = useMemo(() => {
    const m = new Map<string, { x: number; y: number; w: number; h: number }>();
    for (const n of lay.nodes) {
      const p = n.parent ? m.get(n.parent) : undefined;
      m.set(n.id, { x: n.x + (p?.x ?? 0), y: n.y + (p?.y ?? 0), w: n.w, h: Math.min(n.h, STEP_H) });
    }
    return m;
  }, [lay]);
  useEffect(() => {
    const n = props.selected ? abs.get(props.selected) : undefined;
    if (!n || !wrap.current) return;
    const { x, y, zoom } = rf.getViewport();
    const W = wrap.current.clientWidth;
    const H = wrap.current.clientHeight;
    const sx = n.x * zoom + x;
    const sy = n.y * zoom + y;
    // (the lower band is kept clear: the minimap and the controls sit there)
    if (sx < 0 || sy < 0 || sx + n.w * zoom > W || sy + n.h * zoom > H - 130) rf.setCenter(n.x + n.w / 2, n.y + n.h / 2, { zoom, duration: 150 });
  }, [props.selected, abs, rf]);
  const ctx = useMemo(() => ({ props }), [props]);
  const drop = useDrop({ seq: ["steps"], index: Number.MAX_SAFE_INTEGER }, props);
  return (
    <CanvasCtx.Provider value={ctx}>
      <div className={`canvas${drop.over ? " drop-over" : ""}`} ref={wrap} {...drop.handlers} data-testid="canvas">
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          nodesFocusable={false}
          edgesFocusable={false}
          elementsSelectable={false}
          onlyRenderVisibleElements
          minZoom={0.1}
          maxZoom={2}
          onPaneClick={() => props.onSelect(null)}
          onNodeClick={noop /* gives nodes pointer events; the cards select themselves */}
          colorMode={props.theme}
          proOptions={{ hideAttribution: true }}
          deleteKeyCode={null}
        >
          <Background gap={16} />
          <Controls showInteractive={false} />
          <MiniMap pannable zoomable style={{ width: 120, height: 96 }} nodeColor={(n) => KIND_COLOR[(n.data as NData).l.step?.kind ?? (n.type === "trigger" ? "trigger" : "")] ?? "#adb5bd"} ariaLabel="Minimap of the flow" />
        </ReactFlow>
      </div>
    </CanvasCtx.Provider>
  );
}

/** Canvas draws a flow graph; edits go out through the callbacks. */
export function Canvas(props: CanvasProps) {
  return (
    <ReactFlowProvider>
      <Inner {...props} />
    </ReactFlowProvider>
  );
}
