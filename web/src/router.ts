// A hash router: the console is one page served at "/", so routes live after
// the "#" (#/runs?flow=x). Deep links and the back button work; the server
// never needs to know the console's routes.
import { useEffect, useState } from "react";

export interface Route {
  path: string; // "/runs/abc"
  parts: string[]; // ["runs", "abc"]
  query: URLSearchParams;
}

function parse(): Route {
  return parseHash(location.hash);
}

/** parseHash turns "#/runs/abc?flow=x" into a Route. */
export function parseHash(hash: string): Route {
  const h = hash.replace(/^#/, "") || "/";
  const [p, q] = h.split("?", 2);
  const path = p.startsWith("/") ? p : "/" + p;
  return { path, parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q ?? "") };
}

export function useRoute(): Route {
  const [r, setR] = useState(parse);
  useEffect(() => {
    const on = () => setR(parse());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return r;
}

export function navigate(path: string) {
  location.hash = path;
}

export function href(path: string): string {
  return "#" + path;
}
