// Key completion in the YAML pane from the flow's JSON Schema (GET
// /api/schemas/flow): where the cursor is (the chain of parent keys, read from
// indentation), which keys the schema allows there, minus those present.
import type { JSONSchema } from "./catalog";

export interface KeyCompletion {
  label: string;
  detail?: string;
  info?: string;
}

export interface YamlContext {
  /** parent keys from the root; "-" for a list item */
  path: string[];
  /** the partial key typed */
  prefix: string;
  /** offset where the partial key starts */
  from: number;
  /** keys already present at this level */
  siblings: string[];
  /** "key: " typed: complete a value of this key */
  valueOf?: string;
}

const KEY_LINE = /^(\s*)(- )?([A-Za-z_][\w-]*)?$/;
const VALUE_LINE = /^(\s*)(- )?([A-Za-z_][\w-]*):\s+([\w-]*)$/;
const LINE = /^(\s*)(- +)?(?:([A-Za-z_][\w-]*|"[^"]*"|'[^']*'):(?:\s|$))?/;

/** yamlContext reads the completion context at offset pos of text. */
export function yamlContext(text: string, pos: number): YamlContext | null {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1;
  const line = text.slice(lineStart, pos);
  let ind: number;
  let dash: boolean;
  let prefix: string;
  let valueOf: string | undefined;
  const v = VALUE_LINE.exec(line);
  const k = KEY_LINE.exec(line);
  if (v) {
    [ind, dash, valueOf, prefix] = [v[1].length, !!v[2], v[3], v[4]];
  } else if (k) {
    [ind, dash, prefix] = [k[1].length, !!k[2], k[3] ?? ""];
  } else return null;
  const path: string[] = [];
  const siblings: string[] = [];
  // Walk up: in "map" mode we are in a mapping whose keys start at col; in
  // "list" mode we look for the key owning a list whose dashes are at col.
  let mode: "map" | "list" = dash ? "list" : "map";
  let col = ind;
  let first = !dash;
  if (dash) path.unshift("-");
  const lines = text.slice(0, lineStart).split("\n");
  lines.pop();
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    const t = l.trim();
    if (!t || t.startsWith("#")) continue;
    const m = LINE.exec(l)!;
    const li = m[1].length;
    const ld = !!m[2];
    const key = m[3]?.replace(/^["']|["']$/g, "");
    const kc = li + (ld ? m[2]!.length : 0);
    if (mode === "map") {
      if (key && kc === col) {
        if (first) siblings.push(key);
        if (ld) {
          // our mapping is the list item starting here
          path.unshift("-");
          mode = "list";
          col = li;
          first = false;
        }
        continue;
      }
      if (li >= col) continue; // inside a sibling's value
      if (!key) continue;
      first = false;
      path.unshift(key);
      if (ld) {
        path.unshift("-");
        mode = "list";
        col = li;
      } else col = li;
      continue;
    }
    // list mode
    if (ld && li === col) continue; // an earlier item
    if (li > col) continue;
    if (!key) continue;
    path.unshift(key);
    if (ld) {
      path.unshift("-");
      col = li;
    } else {
      mode = "map";
      col = li;
    }
  }
  return { path, prefix, from: pos - prefix.length, siblings, valueOf };
}

type Resolver = (s: JSONSchema) => JSONSchema;

function resolver(root: JSONSchema): Resolver {
  const r = (s: JSONSchema): JSONSchema => {
    if (s && typeof s.$ref === "string" && s.$ref.startsWith("#/")) {
      let cur: unknown = root;
      for (const seg of s.$ref.slice(2).split("/")) cur = (cur as Record<string, unknown>)?.[seg];
      return r((cur ?? {}) as JSONSchema);
    }
    return s ?? {};
  };
  return r;
}

/** propsAt merges the properties the schema allows at a path (oneOf branches together). */
function propsAt(root: JSONSchema, path: string[]): Record<string, JSONSchema> {
  const r = resolver(root);
  let cur: JSONSchema[] = [r(root)];
  for (const seg of path) {
    const next: JSONSchema[] = [];
    for (const s0 of cur) {
      const s = r(s0);
      const alts = [s, ...(s.oneOf ?? []).map(r), ...(s.anyOf ?? []).map(r)];
      for (const a of alts) {
        if (seg === "-") {
          if (a.items) next.push(r(a.items));
        } else if (a.properties?.[seg] && a.properties[seg] !== (true as unknown)) next.push(r(a.properties[seg]));
      }
    }
    cur = next;
  }
  const out: Record<string, JSONSchema> = {};
  for (const s0 of cur) {
    const s = r(s0);
    for (const a of [s, ...(s.oneOf ?? []).map(r), ...(s.anyOf ?? []).map(r)]) {
      for (const [k, v] of Object.entries(a.properties ?? {})) if (!out[k] || (v as unknown) !== true) out[k] = (v as unknown) === true ? out[k] ?? {} : r(v);
    }
  }
  return out;
}

/** schemaKeys completes keys (or enum values) at a YAML context. */
export function schemaKeys(schema: JSONSchema, ctx: YamlContext): KeyCompletion[] {
  if (ctx.valueOf) {
    const p = propsAt(schema, ctx.path)[ctx.valueOf];
    const vals = p?.enum ?? (p?.oneOf ?? []).flatMap((o) => o.enum ?? []);
    return vals.filter((v) => String(v).startsWith(ctx.prefix)).map((v) => ({ label: String(v), detail: "enum" }));
  }
  const props = propsAt(schema, ctx.path);
  return Object.entries(props)
    .filter(([k]) => k.startsWith(ctx.prefix) && !ctx.siblings.includes(k))
    .map(([k, v]) => ({ label: k, detail: v.type ? String(v.type) : v.enum ? "enum" : undefined, info: v.description }));
}
