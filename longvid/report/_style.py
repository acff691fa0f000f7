"""The report's stylesheet (inlined into the page; no external CSS or fonts)."""

CSS = """
:root {
  --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f3f4f6; --card: #ffffff;
  --accent: #2563eb; --accent-soft: #eff6ff; --moment: #f59e0b; --moment-soft: #fef3c7;
  --selected: #dc2626;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif;
}
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 40px; }
header.top { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 14px; margin-bottom: 16px; }
.brand { font-weight: 700; letter-spacing: .02em; color: var(--accent); }
.video { font-weight: 600; overflow-wrap: anywhere; }
.meta { color: var(--muted); font-size: 13px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 20px 24px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(15, 23, 42, .04);
}
.label { margin: 0 0 4px; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
h1#question { margin: 0 0 18px; font-size: 22px; line-height: 1.35; font-weight: 600; overflow-wrap: anywhere; }
#answer {
  margin: 0; padding: 14px 18px; font-size: 21px; line-height: 1.45; font-weight: 600;
  background: var(--accent-soft); border-left: 5px solid var(--accent); border-radius: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.chips { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
.chip { font-size: 13px; padding: 3px 10px; border-radius: 999px; background: var(--bg); color: var(--ink); }
.chip b { font-weight: 600; }
h2 { margin: 0 0 4px; font-size: 17px; }
.sub { margin: 0 0 12px; color: var(--muted); font-size: 13px; }
#timeline { margin: 0; overflow-x: auto; }
#timeline svg { display: block; width: 100%; min-width: 720px; height: auto; }  /* narrow screens scroll */
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.num, th.num { text-align: right; }
tr.total td { font-weight: 600; border-bottom: none; }
tr.stage.sub td, tr.other td { color: var(--muted); }
.chip.weak { background: #fef3c7; color: #92400e; }
.tag { display: inline-block; min-width: 30px; padding: 1px 7px; border-radius: 6px; font-weight: 700; font-size: 12px; text-align: center; }
.tag.moment { background: var(--moment-soft); color: #b45309; }
.tag.frame { background: #fee2e2; color: var(--selected); }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 14px; }
figure.thumb { margin: 0; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; background: #fafafa; position: relative; }
figure.thumb.in-moment { border-color: var(--moment); box-shadow: 0 0 0 2px var(--moment-soft); }
figure.thumb img, figure.thumb .nopic { display: block; width: 100%; height: auto; aspect-ratio: 16 / 9; object-fit: contain; background: #111827; }
figure.thumb .nopic { color: #9ca3af; font-size: 13px; display: flex; align-items: center; justify-content: center; }
figure.thumb .tag.frame { position: absolute; top: 8px; left: 8px; box-shadow: 0 1px 2px rgba(0, 0, 0, .3); }
figure.thumb .tag.moment { position: absolute; top: 8px; right: 8px; }
figcaption { padding: 8px 10px 10px; font-size: 13px; display: grid; gap: 2px; }
figcaption time { font-weight: 600; font-size: 14px; font-variant-numeric: tabular-nums; }
figcaption .facts { color: var(--muted); font-variant-numeric: tabular-nums; }
.cost { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px; align-items: start; }
.bar { height: 8px; border-radius: 4px; background: var(--accent); opacity: .75; min-width: 1px; }
dl.counts { margin: 0; display: grid; grid-template-columns: 1fr auto; gap: 6px 16px; font-size: 14px; font-variant-numeric: tabular-nums; }
dl.counts dt { color: var(--muted); }
dl.counts dd { margin: 0; text-align: right; font-weight: 600; }
details { margin-top: 6px; }
summary { cursor: pointer; font-weight: 600; }
pre { margin: 10px 0 0; padding: 12px; background: #0f172a; color: #e2e8f0; border-radius: 8px; font-size: 12px; overflow: auto; max-height: 420px; }
.empty { color: var(--muted); font-style: italic; margin: 0; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 8px; }
@media (max-width: 760px) { .cost { grid-template-columns: 1fr; } h1#question { font-size: 19px; } #answer { font-size: 18px; } }
"""
