// Small formatting helpers the operations views share: times, durations,
// sizes, and JSON text checked before it is sent.

/** ago says how long before now an RFC 3339 time was ("5 min ago"). */
export function ago(iso: string | undefined | null, now: number = Date.now()): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((now - t) / 1000);
  if (s < 0) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** when formats a time for a table cell: local date and time, to the second. */
export function when(iso: string | undefined | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** duration formats microseconds: 850 µs, 12.3 ms, 4.20 s, 3 min 5 s. */
export function durationUS(us: number): string {
  if (!Number.isFinite(us) || us < 0) return "";
  if (us < 1000) return `${Math.round(us)} µs`;
  const ms = us / 1000;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m - h * 60} min`;
}

/** bytes formats a size: 512 B, 1.5 KB, 2.0 MB. */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** percent formats failed of total ("12.5 %"); "" when there were no runs. */
export function percent(failed: number, total: number): string {
  if (!total) return "";
  const p = (100 * failed) / total;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)} %`;
}

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

/** parseJSON checks text typed into a JSON editor and says where it breaks (line and column). */
export function parseJSON(text: string): Parsed {
  if (text.trim() === "") return { ok: false, message: "Empty: type a JSON value (an object such as {}, a list, a string in quotes, a number)." };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const found = locateJSONError(text);
    if (!found) return { ok: false, message: "Not valid JSON: " + (e as Error).message };
    const [l, c] = lineCol(text, found.offset);
    return { ok: false, message: `Not valid JSON at line ${l}, column ${c}: ${found.message}` };
  }
}

/** locateJSONError scans text as JSON and returns where and why it first breaks (null if it is valid). */
export function locateJSONError(text: string): { offset: number; message: string } | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const what = () => (i >= text.length ? "the text ends" : `unexpected ${JSON.stringify(text[i])}`);
  const value = (depth: number): void => {
    if (depth > 512) fail("nested too deeply");
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`${what()}: expected a key in double quotes`);
        str();
        ws();
        if (text[i] !== ":") fail(`${what()}: expected ":" after the key`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "}") fail("a comma before } (remove the trailing comma)");
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail(`${what()}: expected "," or "}"`);
      }
    }
    if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "]") fail("a comma before ] (remove the trailing comma)");
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail(`${what()}: expected "," or "]"`);
      }
    }
    if (ch === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0] !== "" && m[0] !== "-") {
      i += m[0].length;
      return;
    }
    for (const lit of ["true", "false", "null"]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    fail(`${what()}: expected a value (an object, list, "string", number, true, false or null)`);
  };
  const str = () => {
    i++; // the opening quote
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        const n = text[i + 1];
        if (n === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("a \\u escape needs four hex digits");
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else fail("an unknown escape in a string");
        continue;
      }
      if (c < " ") fail(c === "\n" ? "a line break inside a string (close the quote, or write \\n)" : "a control character inside a string");
      i++;
    }
    fail("a string is not closed (a missing \")");
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail(`${what()} after the value`);
    return null;
  } catch (e) {
    if (e && typeof e === "object" && "offset" in e) return e as { offset: number; message: string };
    throw e;
  }
}

export function lineCol(text: string, offset: number): [number, number] {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      col = 1;
    } else col++;
  }
  return [line, col];
}

/** pretty prints JSON (a parsed value, or raw JSON text) with two-space indents. */
export function pretty(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "string") {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}
