// Who the console is signed in as (GET /api/me), fetched once and shared by
// the shell (the nav and the user menu) and the Access and Audit views;
// signing in or out clears it.
import { useEffect, useState } from "react";
import { api } from "./api";
import type { Me } from "./lib/access";

let cached: Promise<Me> | null = null;
const subscribers = new Set<() => void>();

/** loadMe answers /api/me, once until clearMe. */
export function loadMe(): Promise<Me> {
  if (!cached) {
    cached = api<Me>("/api/me");
    cached.catch(() => (cached = null)); // a failure is not remembered
  }
  return cached;
}

/** clearMe forgets who is signed in (after signing in or out). */
export function clearMe() {
  cached = null;
  subscribers.forEach((fn) => fn());
}

/** useMe: /api/me's answer (undefined while loading or when it failed), and its error. */
export function useMe(enabled = true): { me: Me | undefined; err: unknown } {
  const [me, setMe] = useState<Me | undefined>(undefined);
  const [err, setErr] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((t) => t + 1);
    subscribers.add(fn);
    return () => void subscribers.delete(fn);
  }, []);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    setMe(undefined);
    loadMe().then(
      (m) => live && (setMe(m), setErr(null)),
      (e) => live && setErr(e),
    );
    return () => {
      live = false;
    };
  }, [enabled, tick]);
  return { me, err };
}
