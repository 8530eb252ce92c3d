/** The HTML report's inline style sheet (the report references nothing outside itself). */
export const CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--bg:#fff;--soft:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:20px 24px 40px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
h1{font-size:22px;margin:0 0 8px}h1 .runid{font-weight:400;color:var(--muted)}
h2{font-size:16px;margin:0 0 8px}h2 small{font-size:13px;font-weight:600;margin-left:8px}
h3{font-size:13px;margin:0}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 16px}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.tag{font-size:11px;border:1px solid var(--line);border-radius:10px;padding:0 6px;color:var(--muted)}
.banner{border-radius:6px;padding:10px 14px;margin:0 0 14px;border:1px solid}
.banner.bad{background:#ffebe9;border-color:#ff8182;color:#82071e}
.banner.warn{background:#fff8c5;border-color:#d4a72c;color:#4d2d00}
.banner ul{margin:6px 0 0;padding-left:20px}
.ok{color:var(--ok)}.bad{color:var(--bad)}.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:0 0 10px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-size:12px;color:var(--muted);font-weight:600;border-bottom-color:#afb8c1}
tbody th{font-weight:400}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.num.bad{font-weight:600}
.thresholds{margin:0 0 18px}
.thresholds table{width:auto;min-width:50%}
.thresholds .mark{font-weight:700;width:1.5em}
.thresholds tr.pass .mark,.thresholds tr.pass td.num{color:var(--ok)}
.thresholds tr.fail .mark,.thresholds tr.fail td.num{color:var(--bad);font-weight:600}
.thresholds tr.fail{background:#fff5f5}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px 22px;margin-bottom:18px}
.card{min-width:0;border-top:2px solid var(--fg);padding-top:6px}
.card.wide{grid-column:1/-1}
.card table.kv{width:auto;min-width:60%}
.card p{margin:4px 0 8px}
.warnings{margin:4px 0;padding-left:18px;color:var(--warn)}
td.err{color:var(--bad);font-size:12.5px;overflow-wrap:anywhere}
td code{overflow-wrap:anywhere}
.instances td code{white-space:nowrap;overflow-wrap:normal}
.charts h2{border-top:2px solid var(--fg);padding-top:6px}
.chartgrid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px 22px}
figure{margin:0}
figcaption{display:flex;align-items:baseline;justify-content:space-between;gap:10px;margin-bottom:2px}
.legend{display:flex;gap:12px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.plot{position:relative}
svg{display:block;width:100%;height:auto;overflow:visible}
svg text{font-size:10.5px;fill:var(--muted);font-family:inherit}
svg .grid{stroke:#eaeef2}svg .axis{stroke:#8c959f}svg .frame{fill:var(--soft);stroke:var(--line)}
svg .nodata{font-size:13px}
svg .cursor{stroke:#8c959f;stroke-dasharray:3 3}
.tip{position:absolute;top:0;right:0;background:rgba(255,255,255,.94);border:1px solid var(--line);border-radius:4px;padding:2px 6px;font-size:12px;font-variant-numeric:tabular-nums;pointer-events:none}
footer{margin-top:24px;font-size:12px;color:var(--muted)}
@media print{.tip,.cursor{display:none}}
`;
