// The time-series chart (uPlot), loaded on demand by the monitoring page
// (import("./chart")) so the console's first load does not carry it.
// Colours come from CSS variables (monitoring.css), so both themes read.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export type Column = (number | null)[];

export interface LineSpec {
  label: string;
  values: Column;
  /** a CSS variable holding the colour, e.g. "--chart-runs" */
  color: string;
  width?: number;
  dash?: number[];
  fill?: boolean;
  /** an edge of the expected band (drawn as its fill only) */
  edge?: boolean;
}

export interface ChartSpec {
  x: number[];
  lines: LineSpec[];
  /** indices into lines of the band's high and low edges */
  band?: [number, number];
  height: number;
  /** formats a y value (axis and legend) */
  fmt?: (v: number) => string;
}

export interface ChartHandle {
  setSize(width: number): void;
  destroy(): void;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** mount draws spec into el at width; call destroy when done. */
export function mount(el: HTMLElement, spec: ChartSpec, width: number): ChartHandle {
  const axis = cssVar("--chart-axis", "#5f6b7a");
  const grid = cssVar("--chart-grid", "#d9dee5");
  const font = "11px system-ui, sans-serif";
  const fmt = spec.fmt ?? ((v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2)));
  const series: uPlot.Series[] = [
    {},
    ...spec.lines.map((l): uPlot.Series => {
      const color = cssVar(l.color, "#3b5bdb");
      return {
        label: l.label,
        stroke: l.edge ? "transparent" : color,
        width: l.edge ? 0 : (l.width ?? 1.5),
        dash: l.dash,
        fill: l.fill ? color + "22" : undefined,
        // Dots where a line cannot show a value: few buckets, or values
        // mostly separated by gaps (latency of a quiet flow).
        points: { show: !l.edge && (spec.x.length <= 90 || l.values.filter((v) => v !== null).length <= 30), size: 4 },
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "–" : fmt(v)),
      };
    }),
  ];
  const opts: uPlot.Options = {
    width: Math.max(200, width),
    height: spec.height,
    series,
    bands: spec.band ? [{ series: [spec.band[0] + 1, spec.band[1] + 1], fill: cssVar("--chart-band", "rgba(59,91,219,0.15)") }] : undefined,
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max === null || max <= 0 ? 1 : max * 1.1] } },
    axes: [
      { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font },
      { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font, size: 72, values: (_u, vals) => vals.map((v) => (v === null ? "" : fmt(v))) },
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    hooks: {
      // The legend shows the newest bucket's values while the pointer is
      // not over the chart (uPlot would show dashes).
      ready: [(u) => showLast(u)],
      setCursor: [(u) => (u.cursor.idx === null || u.cursor.idx === undefined) && showLast(u)],
    },
  };
  const showLast = (u: uPlot) => {
    if (spec.x.length) u.setLegend({ idx: spec.x.length - 1 }, false);
  };
  const u = new uPlot(opts, [spec.x, ...spec.lines.map((l) => l.values)] as uPlot.AlignedData, el);
  return {
    setSize: (w) => u.setSize({ width: Math.max(200, w), height: spec.height }),
    destroy: () => u.destroy(),
  };
}
