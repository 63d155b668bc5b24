// Loads the catalog once per page from the public API (GET /api/connectors,
// each connector's operations, GET /api/flows).
import { useEffect, useState } from "react";
import { api } from "../api";
import type { Catalog, Connection, Connector } from "./catalog";

let cached: Promise<Catalog> | null = null;

async function load(): Promise<Catalog> {
  const list = await api<{ connectors: { name: string }[]; connections: Connection[] }>("/api/connectors");
  const details = await Promise.all((list.connectors ?? []).map((c) => api<Connector>("/api/connectors/" + encodeURIComponent(c.name))));
  let flows: string[] = [];
  try {
    const f = await api<{ flows: { name: string }[] }>("/api/flows");
    flows = (f.flows ?? []).map((x) => x.name);
  } catch {
    /* the subflow picker then offers free text */
  }
  return { connectors: details, connections: list.connections ?? [], flows, loading: false, error: "" };
}

const empty: Catalog = { connectors: [], connections: [], flows: [], loading: true, error: "" };

/** useCatalog loads the catalog once, when enabled (retrying after a failure on the next mount or reload()). */
export function useCatalog(enabled = true): [Catalog, () => void] {
  const [c, setC] = useState<Catalog>(empty);
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    if (!cached) cached = load();
    cached.then(
      (v) => live && setC(v),
      (e: Error) => {
        cached = null;
        if (live) setC({ ...empty, loading: false, error: e.message });
      },
    );
    return () => {
      live = false;
    };
  }, [n, enabled]);
  return [
    c,
    () => {
      cached = null;
      setN((x) => x + 1);
    },
  ];
}

