//! The stylesheet and the script of `report.html`, inlined into the page.
//!
//! They are constants, never built from report data, so the page's Content
//! Security Policy can pin them by hash: even if some Tool-provided text
//! escaped its escaping, the browser would refuse to run or style it.
//!
//! The script only filters the vector list (a text box and one checkbox per
//! status) and copies `curl` lines; the page is complete without it.

/// The page's stylesheet.
pub const CSS: &str = r#"
:root { --pass:#1a7f37; --fail:#cf222e; --error:#9a3412; --skip:#6e7781; --na:#0969da; --untested:#8250df;
  --bg:#ffffff; --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --soft:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
main { max-width:1200px; margin:0 auto; padding:0 24px 48px; }
h2 { font-size:18px; margin:32px 0 12px; padding-bottom:6px; border-bottom:1px solid var(--line); }
code, pre, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
a { color:#0969da; text-decoration:none; } a:hover { text-decoration:underline; }
.banner { color:#fff; padding:20px 24px; margin:0 0 8px; }
.banner.pass { background:var(--pass); } .banner.fail { background:var(--fail); }
.banner .inner { max-width:1200px; margin:0 auto; }
.banner h1 { margin:0 0 6px; font-size:28px; letter-spacing:.5px; }
.banner .meta { opacity:.92; font-size:13px; overflow-wrap:anywhere; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin-top:16px; }
.card { border:1px solid var(--line); border-left:6px solid var(--skip); border-radius:6px; padding:10px 14px; min-width:220px; background:var(--soft); }
.card.pass { border-left-color:var(--pass); } .card.fail { border-left-color:var(--fail); }
.card .name { font-weight:600; text-transform:uppercase; font-size:12px; color:var(--muted); }
.card .res { font-size:20px; font-weight:700; }
.card.pass .res { color:var(--pass); } .card.fail .res { color:var(--fail); }
.card .counts { font-size:12px; color:var(--muted); }
ul.lines { margin:6px 0; padding-left:20px; } ul.lines li { margin:2px 0; overflow-wrap:anywhere; }
.reasons li { color:var(--fail); } .reasons a { color:inherit; font-weight:600; }
.badge { display:inline-block; min-width:92px; text-align:center; border-radius:10px; padding:1px 8px; font-size:12px; font-weight:600; color:#fff; white-space:nowrap; }
.s-pass { background:var(--pass); } .s-fail { background:var(--fail); } .s-error { background:var(--error); }
.s-skip { background:var(--skip); } .s-not-applicable { background:var(--na); } .s-untested { background:var(--untested); }
.lvl { font-size:11px; font-weight:700; color:var(--muted); }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; vertical-align:top; padding:5px 8px; border-bottom:1px solid var(--line); }
th { background:var(--soft); font-size:12px; color:var(--muted); position:sticky; top:0; }
td.vecs a { margin-right:6px; white-space:nowrap; }
td.rid { white-space:nowrap; }
td.text { color:var(--muted); overflow-wrap:anywhere; }
.filters { display:flex; flex-wrap:wrap; align-items:center; gap:14px; padding:10px 12px; background:var(--soft); border:1px solid var(--line); border-radius:6px; margin-bottom:10px; position:sticky; top:0; z-index:2; }
.filters input[type=search] { flex:1 1 280px; padding:6px 8px; border:1px solid var(--line); border-radius:4px; font-size:14px; }
.filters label { white-space:nowrap; user-select:none; }
.filters .shown { color:var(--muted); font-size:12px; }
.vec { border:1px solid var(--line); border-radius:6px; margin:6px 0; padding:8px 12px; }
.vec.fail, .vec.error { border-left:5px solid var(--fail); }
.vec .head { display:flex; flex-wrap:wrap; gap:10px; align-items:baseline; }
.vec .id { font-weight:600; }
.vec .path, .vec .dur { color:var(--muted); }
.vec .dur { margin-left:auto; }
.vec .title { margin:2px 0; }
.vec .reqs a { margin-right:6px; }
.vec .reason { margin-top:4px; overflow-wrap:anywhere; white-space:pre-wrap; }
.vec .known { color:var(--error); font-style:italic; }
details.tx { margin-top:8px; } details.tx > summary { cursor:pointer; color:#0969da; }
.ex { border:1px solid var(--line); border-radius:4px; margin:8px 0; }
.ex .exhead { background:var(--soft); padding:4px 8px; border-bottom:1px solid var(--line); overflow-wrap:anywhere; }
.ex .grid { display:grid; grid-template-columns:1fr 1fr; }
.ex .grid > div { min-width:0; padding:6px 8px; }
.ex .grid > div + div { border-left:1px solid var(--line); }
.ex h4 { margin:0 0 4px; font-size:11px; text-transform:uppercase; color:var(--muted); }
.ex pre { margin:0 0 6px; padding:6px; background:var(--soft); border-radius:3px; white-space:pre-wrap; overflow-wrap:anywhere; max-height:320px; overflow:auto; }
.ex .below { padding:6px 8px; border-top:1px solid var(--line); }
.ex .note { font-style:italic; }
.curl { display:flex; gap:8px; align-items:flex-start; }
.curl pre { flex:1; }
.curl button { font-size:12px; padding:2px 8px; cursor:pointer; }
.diff .add { color:var(--pass); } .diff .del { color:var(--fail); } .diff .hunk { color:var(--na); }
.hidden { display:none; }
footer { margin-top:40px; color:var(--muted); font-size:12px; overflow-wrap:anywhere; }
"#;

/// The page's script: the vector filter and the copy buttons.
pub const JS: &str = r#"
(function () {
  'use strict';
  var q = document.getElementById('q');
  var boxes = Array.prototype.slice.call(document.querySelectorAll('.filters input[type=checkbox]'));
  var items = Array.prototype.slice.call(document.querySelectorAll('#vectors .vec'));
  var shown = document.getElementById('shown');
  function apply() {
    var text = (q.value || '').toLowerCase();
    var allowed = {};
    boxes.forEach(function (b) { allowed[b.value] = b.checked; });
    var n = 0;
    items.forEach(function (el) {
      var ok = allowed[el.getAttribute('data-status')] &&
        (text === '' || el.getAttribute('data-text').indexOf(text) !== -1);
      el.classList.toggle('hidden', !ok);
      if (ok) { n += 1; }
    });
    shown.textContent = n + ' of ' + items.length + ' shown';
  }
  q.addEventListener('input', apply);
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  Array.prototype.slice.call(document.querySelectorAll('button.copy')).forEach(function (b) {
    b.addEventListener('click', function () {
      var pre = b.parentNode.querySelector('pre');
      if (navigator.clipboard && pre) {
        navigator.clipboard.writeText(pre.textContent).then(function () { b.textContent = 'copied'; });
      }
    });
  });
  apply();
})();
"#;
