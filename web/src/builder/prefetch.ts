// The flow's source is fetched while the builder's chunk loads (index.tsx
// starts it, page.tsx takes it), not after: one round trip off the way to
// the canvas.
import { api } from "../api";

export interface FlowSource {
  version: number;
  source: string;
}

const pending = new Map<string, Promise<FlowSource>>();

export function prefetchFlow(name: string) {
  if (pending.has(name)) return;
  const p = api<FlowSource>("/api/flows/" + encodeURIComponent(name));
  p.catch(() => {}); // handled by whoever takes it
  pending.set(name, p);
}

/** takeFlow gives the prefetched answer once, else fetches. */
export function takeFlow(name: string): Promise<FlowSource> {
  const p = pending.get(name);
  pending.delete(name);
  return p ?? api<FlowSource>("/api/flows/" + encodeURIComponent(name));
}
