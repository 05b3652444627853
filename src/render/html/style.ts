/** The report page's style sheet (inline: the page fetches nothing). */
export const REPORT_CSS = `
:root{--fg:#1d2330;--muted:#677085;--line:#e3e6ee;--bg:#f6f7fb;--card:#fff;--dup:#c2410c;--ser:#a16207;--n1:#be123c}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px;font-weight:600}
header .meta{color:#b8bfd0;font-size:12.5px;margin-top:4px;word-break:break-all}
main{padding:20px 28px 40px;max-width:1500px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin-bottom:20px}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:0}
.note{color:var(--muted);font-size:12.5px;margin:6px 0 10px}
.stats{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 20px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px}
.stat b{display:block;font-size:20px}
.stat span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{font-weight:600;overflow-wrap:break-word}
tr.sub td{border-bottom:none;padding-top:0;color:var(--muted);font-size:12.5px}
.share{display:inline-block;width:70px;height:8px;background:#e8ebf2;border-radius:4px;vertical-align:middle;margin-right:6px;overflow:hidden}
.share i{display:block;height:100%;background:#3b6fd8}
.chip{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;margin:1px 4px 1px 0;background:#eef1f7;white-space:nowrap}
.dot{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:5px;vertical-align:baseline}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.dup{background:var(--dup)}.badge.ser{background:var(--ser)}.badge.n1{background:var(--n1)}
a{color:#2f5fc4;text-decoration:none}a:hover{text-decoration:underline}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12.5px;color:var(--muted);margin-bottom:8px}
.trace{border-top:1px solid var(--line);padding:14px 0 6px}
.trace:first-of-type{border-top:none}
.trace-head{display:flex;justify-content:space-between;gap:12px;align-items:baseline;flex-wrap:wrap}
.trace-head code{color:var(--muted);font-size:12px}
.tfind{list-style:none;padding:0;margin:8px 0}
.tfind li{margin:3px 0;cursor:pointer;padding:3px 6px;border-radius:5px}
.tfind li:hover,.tfind li.on{background:#fff3e0}
.wf{margin-top:6px;font-size:12.5px}
.row{display:grid;grid-template-columns:minmax(220px,32%) 1fr;align-items:center;min-height:20px}
.row:hover{background:#f4f6fb}
.label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:8px}
.label .k{color:var(--muted);font-size:11px;margin-left:4px}
.track{position:relative;height:16px;border-left:1px solid var(--line)}
.axis{position:relative;height:18px;color:var(--muted);font-size:11px}
.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}
.axis span:first-child{transform:none}
.axis span:last-child{transform:translateX(-100%)}
.bar{position:absolute;top:3px;height:10px;min-width:2px;border-radius:2px;background:#c5cbd8}
.bar.fn{background:#6b7488}
.bar.conn{background:transparent;border:1px dashed #a7afc0;height:10px}
.bar.ex{top:2px;height:12px}
.bar.f{outline:2px solid var(--n1);outline-offset:1px}
.bar.f.dup{outline-color:var(--dup)}.bar.f.ser{outline-color:var(--ser)}
.bar.dim{opacity:.25}
.bar.focus{outline-width:3px;opacity:1}
.more{color:var(--muted);font-size:12px;padding:4px 0}
.empty{color:var(--muted)}
`;

// Interactivity only: click a finding to spotlight its bars. No data is read from the page's text.
