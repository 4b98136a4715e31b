"""The report's whole stylesheet, inlined into the page (a Python string so it ships in wheels).

System fonts only; light and dark themes via `prefers-color-scheme`; a print layout without the
navigation. Figures sit on a white card in both themes because matplotlib draws on white.
"""

CSS = """
:root {
  color-scheme: light dark;
  --bg: #f6f6f3; --card: #ffffff; --ink: #1c232b; --muted: #5d6672; --line: #e2e4e7;
  --soft: #eef1f4; --accent: #2563eb; --ours: #2563eb; --book: #d97706;
  --band: rgba(37, 99, 235, 0.20); --good: #15803d; --good-bg: #e3f6e8;
  --bad: #b42318; --bad-bg: #fdecea; --na: #8a939e; --shadow: 0 1px 2px rgba(16,24,40,.05),
  0 6px 24px rgba(16,24,40,.05);
  --mono: ui-monospace, "SF Mono", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  --math: "STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Serif", Georgia, serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #101317; --card: #181d23; --ink: #e5e8ec; --muted: #9aa4b0; --line: #2a313a;
    --soft: #20262e; --accent: #7aa7ff; --ours: #6ea0ff; --book: #f5b13d;
    --band: rgba(110, 160, 255, 0.36); --good: #5fd28a; --good-bg: rgba(95, 210, 138, .12);
    --bad: #ff8a80; --bad-bg: rgba(255, 138, 128, .13); --na: #7d8793;
    --shadow: 0 1px 2px rgba(0,0,0,.4);
  }
}
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "DejaVu Sans", sans-serif;
  -webkit-font-smoothing: antialiased; text-rendering: optimizeLegibility;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: var(--mono); font-size: .88em; }
.wrap { max-width: 74rem; margin: 0 auto; padding: 0 1.5rem; }

/* header and scoreboard */
.hero { padding: 2.75rem 0 1.75rem; }
.eyebrow { margin: 0; color: var(--muted); font-size: .85rem; font-weight: 600; }
.hero h1 { margin: .25rem 0 .5rem; font-size: clamp(1.8rem, 3.2vw, 2.6rem); line-height: 1.15;
  letter-spacing: -.015em; }
.lede { margin: 0 0 1.5rem; color: var(--muted); max-width: 52rem; }
.lede strong { color: var(--ink); }
.lede span { white-space: nowrap; }
.lede code { white-space: normal; overflow-wrap: anywhere; }
.scoreboard {
  display: grid; gap: .85rem; grid-template-columns: repeat(auto-fill, minmax(16.5rem, 1fr));
  margin: 0; padding: 0; list-style: none;
}
.score {
  display: flex; flex-direction: column; gap: .35rem; height: 100%;
  padding: .95rem 1.1rem; border-radius: 12px; background: var(--card);
  border: 1px solid var(--line); box-shadow: var(--shadow); color: var(--ink);
  border-top: 4px solid var(--na);
}
.score:hover { text-decoration: none; border-color: var(--accent); }
.score.all { border-top-color: var(--good); }
.score.some { border-top-color: var(--book); }
.score.none { border-top-color: var(--bad); }
.score .t { font-weight: 600; line-height: 1.3; }
.score .n { color: var(--muted); font-family: var(--mono); font-size: .78rem; }
.score .row { display: flex; align-items: baseline; justify-content: space-between;
  gap: .5rem; margin-top: auto; }
.score .big { font-size: 1.45rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.score .big small { font-size: .8rem; font-weight: 500; color: var(--muted); }
.score .c { color: var(--muted); font-size: .8rem; }
.score .qn { color: var(--bad); font-size: .8rem; line-height: 1.35; }
.headline { font-size: 1.2rem; font-weight: 650; margin: 0 0 .4rem; }
.tally { margin: 0 0 1.2rem; padding-left: 1.2rem; color: var(--muted); }
.tally strong { color: var(--ink); }
.dots { display: flex; flex-wrap: wrap; gap: 4px; }
.dot { width: 11px; height: 11px; border-radius: 50%; background: var(--na); }
.dot.in { background: var(--good); }
.dot.out { background: var(--bad); }

/* navigation */
nav.toc {
  position: sticky; top: 0; z-index: 10; border-bottom: 1px solid var(--line);
  background: color-mix(in srgb, var(--bg) 88%, transparent);
  backdrop-filter: blur(8px); -webkit-backdrop-filter: blur(8px);
}
nav.toc ol {
  display: flex; gap: .35rem; margin: 0 auto; padding: .55rem 1.5rem; list-style: none;
  overflow-x: auto; white-space: nowrap; max-width: 74rem; scrollbar-width: thin;
}
nav.toc a {
  display: inline-block; padding: .22rem .7rem; border-radius: 999px; font-size: .88rem;
  color: var(--ink); border: 1px solid transparent;
}
nav.toc a:hover { background: var(--soft); text-decoration: none; }
nav.toc a.warn { color: var(--bad); }

/* sections */
section {
  background: var(--card); border: 1px solid var(--line); border-radius: 16px;
  box-shadow: var(--shadow); padding: 1.6rem 2rem 1.8rem; margin: 1.5rem 0;
  scroll-margin-top: 4.2rem;
}
section > header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem;
  margin-bottom: .75rem; }
section h2 { margin: 0; font-size: 1.5rem; line-height: 1.25; letter-spacing: -.01em;
  flex: 1 1 auto; }
section h3 { margin: 1.6rem 0 .6rem; font-size: 1.05rem; color: var(--muted);
  font-weight: 650; }
.meta { display: flex; flex-wrap: wrap; gap: .4rem; margin: 0 0 .9rem; padding: 0;
  list-style: none; }
.meta li { font-size: .8rem; padding: .1rem .6rem; border-radius: 999px; background: var(--soft);
  color: var(--muted); }
.meta li.quick { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.ref { color: var(--muted); font-style: italic; font-size: .95rem; }
.tally-line { color: var(--muted); margin: 0 0 .8rem; }
.conclusions { max-width: 60rem; padding-left: 1.2rem; margin: 0 0 1rem; }
.conclusions li { margin: 0 0 .35rem; }
.quick-card { margin: 0 0 1rem; padding: .7rem 1rem; border-radius: 10px;
  background: var(--bad-bg); border-left: 4px solid var(--bad); max-width: 60rem; }
p, li, dd, figcaption, h1, h2, h3, caption, .callout { overflow-wrap: break-word; }
.prose { max-width: 48rem; }
.prose p { margin: 0 0 .85rem; }

/* intro */
#intro .prose { max-width: 52rem; }
.eq {
  font-family: var(--math); font-size: 1.2rem; text-align: center; padding: .9rem 1rem;
  margin: 1rem 0 1.1rem; background: var(--soft); border-radius: 10px; overflow-x: auto;
  white-space: nowrap;
}
.eq .hl { color: var(--bad); }
.callouts { display: grid; gap: .9rem; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
  margin: 1.1rem 0; }
.callout { padding: .9rem 1.1rem; border-radius: 12px; background: var(--soft); }
.callout b { display: block; margin-bottom: .2rem; }
.callout .eq { background: none; margin: .35rem 0; padding: 0; font-size: 1.08rem;
  text-align: left; }
.missing { color: var(--muted); font-size: .95rem; }

/* figures */
/* each figure at its natural size (shrunk to fit); side by side when they fit, else stacked */
.figures { display: flex; flex-wrap: wrap; gap: 1.1rem 1.5rem; align-items: flex-start;
  margin: 1.1rem 0 .5rem; }
figure { margin: 0; flex: 0 1 auto; max-width: 100%; break-inside: avoid; }
figure img {
  display: block; width: auto; max-width: 100%; height: auto; background: #fff; border-radius: 10px;
  border: 1px solid var(--line); padding: .4rem;
}
/* the caption takes the image's width instead of stretching the figure */
figcaption { color: var(--muted); font-size: .9rem; margin-top: .45rem; line-height: 1.45;
  width: 0; min-width: 100%; }
.nofig { padding: 2rem; text-align: center; border: 1px dashed var(--line); border-radius: 10px;
  color: var(--muted); }

/* tables */
/* a table wider than its section scrolls inside its own box; the page never scrolls sideways */
.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: .93rem; min-width: min(100%, 36rem); }
table.cmp { width: 100%; }
caption { text-align: left; font-weight: 600; padding: 0 0 .4rem; }
th, td { padding: .45rem .7rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: middle; }
thead th { white-space: nowrap; font-size: .85rem; color: var(--muted); font-weight: 650;
  border-bottom-width: 2px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.ours { color: var(--ours); font-weight: 650; }
td.book { color: var(--book); font-weight: 600; }
td.na, td .na { color: var(--na); font-weight: 400; }
tbody tr:hover td { background: color-mix(in srgb, var(--soft) 60%, transparent); }
.cmp td.q { min-width: 12rem; }
.cmp .bandnote { display: block; color: var(--muted); font-size: .78rem; font-weight: 400; }
.cmp tr.outside td { background: var(--bad-bg); }
.cmp tr.why td { border-top: 0; padding-top: 0; font-size: .88rem; color: var(--bad); }
.cmp tr.why td::before { content: "Why: "; font-weight: 700; }
.cmp tr.has-why td { border-bottom: 0; }
.cmp .note { display: block; color: var(--muted); font-size: .82rem; }
.cmp .src { display: block; color: var(--muted); font-size: .78rem; font-style: italic; }
.cmp td.q { max-width: 28rem; }
.verdict { display: inline-flex; align-items: center; gap: .3rem; padding: .05rem .55rem;
  border-radius: 999px; font-weight: 650; font-size: .82rem; white-space: nowrap; }
.verdict.in { color: var(--good); background: var(--good-bg); }
.verdict.out { color: var(--bad); background: color-mix(in srgb, var(--bad) 14%, transparent); }
.verdict.na { color: var(--na); }
.strip { display: block; overflow: visible; }
.strip .axis { stroke: var(--line); stroke-width: 1.5; }
.strip .band { fill: var(--band); }
.strip .ours { fill: var(--ours); stroke: var(--card); stroke-width: 1.5; }
.strip .book { fill: var(--book); stroke: var(--card); stroke-width: 1.2; }
.legend { display: flex; flex-wrap: wrap; gap: 1.1rem; font-size: .82rem; color: var(--muted);
  margin: .5rem 0 0; }
.legend i { display: inline-block; width: 11px; height: 11px; margin-right: .35rem;
  vertical-align: -1px; }
.legend .o { background: var(--ours); border-radius: 50%; }
.legend .b { background: var(--book); transform: rotate(45deg) scale(.85); }
.legend .r { background: var(--band); width: 22px; border-radius: 3px; }

/* details: config and run facts */
.facts { display: grid; gap: 1rem 2rem; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
  margin-top: 1.4rem; align-items: start; }
details { border: 1px solid var(--line); border-radius: 10px; padding: .55rem .9rem; }
details[open] summary { margin-bottom: .4rem; }
summary { cursor: pointer; font-weight: 600; color: var(--muted); font-size: .9rem; }
dl.kv { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr);
  gap: .2rem 1rem; margin: 0; font-size: .88rem; }
dl.kv dt { color: var(--muted); font-family: var(--mono); font-size: .82rem;
  overflow-wrap: anywhere; }
dl.kv dd { margin: 0; font-family: var(--mono); font-size: .82rem; overflow-wrap: anywhere; }

/* warnings */
#warnings { border-color: var(--bad); background: var(--bad-bg); }
#warnings h2 { color: var(--bad); }
#warnings li { font-family: var(--mono); font-size: .85rem; overflow-wrap: anywhere; }
.fig-warn { color: var(--bad); font-size: .88rem; }

footer { color: var(--muted); font-size: .85rem; padding: 1rem 0 3rem; }

@media (max-width: 40rem) {
  .wrap { padding: 0 .9rem; }
  .lede span { white-space: normal; }
  section { padding: 1.2rem 1rem; border-radius: 12px; }
  .figures { grid-template-columns: minmax(0, 1fr); }
}
@media print {
  :root { --bg: #fff; --card: #fff; --shadow: none; color-scheme: light; }
  body { font-size: 11pt; }
  nav.toc { display: none; }
  .hero { padding-top: 0; }
  section { border: 0; border-top: 1px solid #ccc; border-radius: 0; padding: 1rem 0;
    break-before: page; }
  #intro, #warnings { break-before: auto; }
  details { border: 0; padding: 0; }
  details > :not(summary) { display: block; }
  a { color: inherit; }
  tr, figure, .score { break-inside: avoid; }
}
"""
