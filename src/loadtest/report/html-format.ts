/** Formatting shared by the HTML report's tables and charts. Every run string goes through escapeHtml. */
export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

// ---------------------------------------------------------------------------------------------------
// Formatting

/** A number with as many decimals as its size deserves: 1234 → "1,234", 12.34 → "12.3", 0.456 → "0.46". */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const digits = abs >= 100 || Number.isInteger(v) ? 0 : abs >= 10 ? 1 : 2;
  const [int, frac] = Math.abs(Number(v.toFixed(digits)))
    .toString()
    .split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${v < 0 && Number(v.toFixed(digits)) !== 0 ? '−' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** Compact axis labels: 1500 → "1.5k", 2000000 → "2M". */
export function fmtTick(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return fmtNum(v);
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${fmtNum(s)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(sec).padStart(2, '0')} s`;
}

/** `t` seconds as an axis label: "45s" on short runs, "2:05" on longer ones. */
export function fmtClock(t: number, long: boolean): string {
  if (!long) return `${fmtNum(t)}s`;
  const total = Math.round(t);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

export function fmtDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function pct(part: number, whole: number): string {
  return whole > 0 ? `${fmtNum((part / whole) * 100)}%` : '—';
}

/** The unit a metric name ends with (house rule 7), for display next to a value. */
export function unitOf(metric: string): string {
  if (metric.endsWith('_ms')) return 'ms';
  if (metric.endsWith('_kbps')) return 'kbps';
  if (metric.endsWith('_pct')) return '%';
  if (metric.endsWith('_mb')) return 'MB';
  if (metric.endsWith('_fps')) return 'fps';
  return '';
}

export function withUnit(v: number, unit: string): string {
  if (!unit) return fmtNum(v);
  return unit === '%' ? `${fmtNum(v)}%` : `${fmtNum(v)} ${unit}`;
}

// ---------------------------------------------------------------------------------------------------
// Sections
