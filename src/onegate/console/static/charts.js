// Charts for the dashboard, team and channel pages: one ECharts instance per <Chart>, resized with its box
// (window resize, phone rotation, the nav opening), disposed with the component. The helpers turn
// `GET /stats` points (rollup buckets) into axes and series; they are pure so pages stay small.
import { html, useEffect, useRef } from "./preact.js";
import * as echarts from "./vendor/echarts-6.1.0/echarts.esm.min.js";
import { lang } from "./i18n.js";

export const RANGES = { "24h": [86400, "hour"], "7d": [7 * 86400, "hour"], "30d": [30 * 86400, "day"], "90d": [90 * 86400, "day"] };
export const rangeOf = (name) => (RANGES[name] ? name : "24h");

// the stats query for a range name: since (epoch seconds) and bucket
export function rangeQuery(name, now = Date.now() / 1000) {
  const [span, bucket] = RANGES[rangeOf(name)];
  return { since: Math.floor(now - span), bucket };
}

// every bucket start from `since` to `until`, so a quiet hour shows as 0 rather than a line across it
export function bucketStarts(since, until, bucket) {
  const step = bucket === "day" ? 86400 : 3600;
  const out = [];
  for (let t = Math.floor(since / step) * step; t <= until; t += step) out.push(t);
  return out;
}

export function bucketLabel(t, bucket) {
  const d = new Date(t * 1000);
  const locale = lang() === "zh" ? "zh-CN" : "en-US";
  return bucket === "day"
    ? d.toLocaleDateString(locale, { month: "short", day: "numeric" })
    : d.toLocaleString(locale, { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// a point's value for a metric; error rate is a percentage of the bucket's requests
export const METRICS = {
  spend: (p) => p.cost_micros / 1e6,
  requests: (p) => p.requests,
  tokens: (p) => p.input_tokens + p.output_tokens,
  error_rate: (p) => (p.requests ? (100 * p.failed) / p.requests : 0),
};

// points (optionally grouped) → {labels, series: [{name, data}]}; the `top` biggest groups by spend keep
// their own line, the rest are summed into `otherName`. Error rate is recomputed from the sums.
export function seriesOf(stats, metric, { top = 6, otherName = "other", noneName = "—", until = Date.now() / 1000 } = {}) {
  const starts = bucketStarts(stats.since, stats.until || until, stats.bucket);
  const index = new Map(starts.map((t, i) => [t, i]));
  const kept = stats.group_by ? (stats.groups || []).slice(0, top).map((g) => g.group) : [];
  const nameOf = (p) => (!stats.group_by ? "" : kept.includes(p.group) ? p.group : otherName);
  const sums = new Map();
  for (const p of stats.points || []) {
    const i = index.get(p.t);
    if (i === undefined) continue;
    const name = nameOf(p);
    if (!sums.has(name)) sums.set(name, starts.map(() => ({ requests: 0, failed: 0, input_tokens: 0, output_tokens: 0, cost_micros: 0 })));
    const cell = sums.get(name)[i];
    for (const field of Object.keys(cell)) cell[field] += p[field] || 0;
  }
  const pick = METRICS[metric] || METRICS.spend;
  const names = stats.group_by ? [...kept, otherName] : [""];
  const series = names.filter((name) => sums.has(name)).map((name) => ({
    name: stats.group_by && !name ? noneName : name, data: sums.get(name).map((cell) => round(pick(cell))),
  }));
  return { labels: starts.map((t) => bucketLabel(t, stats.bucket)), series };
}

const round = (x) => Math.round(x * 1e6) / 1e6;

// one option for a line/bar chart over buckets; `stack` stacks the groups (spend, requests, tokens)
export function timeOption({ labels, series }, { stack = true, unit = "", area = true } = {}) {
  return {
    animation: false,
    grid: { left: 8, right: 12, top: 36, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", confine: true, valueFormatter: (v) => (v === null || v === undefined ? "—" : `${formatShort(v)}${unit}`) },
    legend: { type: "scroll", top: 0, show: series.length > 1 },
    xAxis: { type: "category", data: labels, boundaryGap: false, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", axisLabel: { formatter: (v) => formatShort(v) + unit } },
    series: series.map((s) => ({
      name: s.name, type: "line", data: s.data, showSymbol: false, smooth: false,
      stack: stack ? "total" : undefined, areaStyle: area ? { opacity: 0.25 } : undefined,
    })),
  };
}

export function formatShort(v) {
  const abs = Math.abs(v);
  if (abs >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (abs >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (abs >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (abs >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return String(Number(v.toPrecision(3))); // 0.0015 stays 0.0015: axis ticks never print the same label twice
}

// <Chart option=${...} /> — `testid` lets a browser test find it; `label` is read by screen readers
export function Chart({ option, height = 280, testid, label }) {
  const box = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    const instance = echarts.init(box.current, null, { renderer: "canvas" });
    chart.current = instance;
    const resize = () => instance.resize();
    const observer = typeof ResizeObserver === "function" ? new ResizeObserver(resize) : null;
    observer?.observe(box.current);
    addEventListener("resize", resize);
    return () => { observer?.disconnect(); removeEventListener("resize", resize); instance.dispose(); chart.current = null; };
  }, []);
  useEffect(() => { chart.current?.setOption(option, true); }, [option]);
  return html`<div class="chart" ref=${box} style=${{ height: `${height}px` }} role="img" aria-label=${label || ""}
    data-testid=${testid}></div>`;
}

// the range picker every chart page shares: 24 h / 7 d / 30 d / 90 d, kept in the URL query
export function RangePicker({ value, onChange, t }) {
  return html`<div class="range-picker" role="group" aria-label=${t("range")}>
    ${Object.keys(RANGES).map((name) => html`<button type="button" data-range=${name}
      class=${"btn btn-small" + (name === value ? " btn-primary" : "")} aria-pressed=${name === value}
      onClick=${() => onChange(name)}>${t("range." + name)}</button>`)}
  </div>`;
}
