// Drag and drop between the palette and the canvas (HTML5 drag and drop,
// one private data type so other drags are ignored).
import type { DragEvent } from "react";
import type { StepKind, TriggerKind } from "./model";

export const DRAG_TYPE = "application/x-weft-builder";

/** What the palette offers: a trigger, a step kind, or a connector operation. */
export type PaletteItem = { type: "trigger"; kind: TriggerKind } | { type: "kind"; kind: StepKind } | { type: "op"; op: string };

export type DragPayload = { type: "palette"; item: PaletteItem } | { type: "move"; key: string };

export function readDrag(e: DragEvent): DragPayload | null {
  const raw = e.dataTransfer.getData(DRAG_TYPE);
  if (!raw) return null;
  try {
    const p = JSON.parse(raw) as DragPayload;
    return p && (p.type === "palette" || p.type === "move") ? p : null;
  } catch {
    return null;
  }
}

export function startDrag(e: DragEvent, p: DragPayload) {
  e.dataTransfer.setData(DRAG_TYPE, JSON.stringify(p));
  e.dataTransfer.setData("text/plain", p.type === "palette" ? JSON.stringify(p.item) : p.key);
  e.dataTransfer.effectAllowed = p.type === "move" ? "move" : "copy";
}
