#!/bin/sh
# report_chromium.sh — load runs/index.html in headless Chromium and fail on
# any resource it cannot load, any JavaScript error, or an attention
# explorer that shows other weights than its attention JSON holds.
#
#   tests/report_chromium.sh [RUNS_DIR]
#
# Without RUNS_DIR it draws the fixture experiment (tests/fixtures/plotrun)
# with $SEQLAB (default ./seqlab) into a temporary runs/ folder and checks
# that page.  Skipped, with a message and status 0, where Chromium is not
# installed (set CHROMIUM to its path if it has another name).
#
# How: a small checker page in a temporary folder loads index.html in an
# iframe (with --allow-file-access-from-files, so it may look inside), then
# checks that every <img> decoded (naturalWidth > 0) and every non-fragment
# <a href> can be read; then, in each attention explorer, it chooses the
# last layer and head of the first sentence, hovers every token (a
# mouseover event, as a pointer would send) and compares the weights the
# explorer shows (its readout's data-weights) with that row of the
# sentence's attention.json, read from disk.  --dump-dom prints the verdict.
# Chromium's own log (--enable-logging --v=0) is also searched for load
# errors and uncaught JavaScript errors, and the page itself for anything
# that would reach the network.  In each curve figure (loss_vs_step,
# loss_vs_time) it clicks the first model's button and checks, through the
# computed style, that exactly the paths in that model's colour are hidden
# and come back, and that the scale button swaps the linear SVG for the log
# one (whose axis says "log scale") and back.
set -eu

cd "$(dirname "$0")/.."

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
    for b in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
    done
fi
if [ -z "$browser" ]; then
    echo "report_chromium.sh: skipped: no chromium found (apt-get install chromium)"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqlab_report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

need_explorer=false
if [ $# -ge 1 ]; then
    runs=$(cd "$1" && pwd)
else
    need_explorer=true   # the fixture has an attention JSON
    seqlab=${SEQLAB:-./seqlab}
    if [ ! -x "$seqlab" ]; then
        echo "report_chromium.sh: $seqlab not built (run make, or set SEQLAB)" >&2
        exit 1
    fi
    mkdir -p "$tmp/runs"
    cp -r tests/fixtures/plotrun "$tmp/runs/plotrun"
    "$seqlab" plot "$tmp/runs/plotrun" >"$tmp/plot.log" 2>&1 || {
        cat "$tmp/plot.log" >&2
        echo "report_chromium.sh: seqlab plot failed" >&2
        exit 1
    }
    runs="$tmp/runs"
fi
page="$runs/index.html"
if [ ! -f "$page" ]; then
    echo "report_chromium.sh: no $page (seqlab plot or seqlab run writes it)" >&2
    exit 1
fi

# the page must be self-contained: nothing fetched from a network
if grep -Eq '(src|href)="(https?:)?//' "$page"; then
    echo "report_chromium.sh: $page refers to the network:" >&2
    grep -Eo '(src|href)="(https?:)?//[^"]*"' "$page" >&2
    exit 1
fi

cat >"$tmp/check.html" <<EOF
<!DOCTYPE html><html><body><pre id="result">SEQLAB-CHECK pending</pre>
<iframe id="page" src="file://$page"></iframe>
<script>
function verdict(msg) { document.getElementById('result').textContent = msg; }
document.getElementById('page').addEventListener('load', function () {
  var doc = null;
  try { doc = this.contentDocument; } catch (e) {}
  if (!doc || !doc.body) { verdict('SEQLAB-CHECK error: cannot read the page'); return; }
  var bad = [], imgs = doc.images, links = doc.querySelectorAll('a[href]'), nlinks = 0;
  for (var i = 0; i < imgs.length; i++)
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) bad.push('img ' + imgs[i].getAttribute('src'));
  for (var j = 0; j < links.length; j++) {
    var h = links[j].getAttribute('href');
    if (h.charAt(0) === '#') continue;
    nlinks++;
    var x = new XMLHttpRequest();
    try {
      x.open('GET', links[j].href, false);
      x.send();
      if ((x.status !== 0 && x.status !== 200) || !x.responseText.length) bad.push('link ' + h);
    } catch (e) { bad.push('link ' + h); }
  }
  if (bad.length) { verdict('SEQLAB-CHECK missing: ' + bad.join(' | ')); return; }
  var boxes = doc.querySelectorAll('.explorer'), hovered = 0;
  if ($need_explorer && !boxes.length) { verdict('SEQLAB-CHECK explorer: none on the page'); return; }
  for (var b = 0; b < boxes.length; b++) {
    var box = boxes[b], exp = box.getAttribute('data-exp');
    var x = new XMLHttpRequest();
    x.open('GET', new URL(exp + '/attention/s1/attention.json', doc.baseURI).href, false);
    x.send();
    var truth = JSON.parse(x.responseText), L = truth.attention.length - 1, H = truth.attention[L].length - 1;
    var sel = function (c, v) { var s = box.querySelector(c); s.value = String(v); s.dispatchEvent(new Event('change')); };
    sel('.ex-sentence', 0); sel('.ex-layer', L); sel('.ex-head', H);
    var toks = box.querySelectorAll('.ex-tokens .tok'), out = box.querySelector('.ex-readout');
    if (toks.length !== truth.tokens.length) { verdict('SEQLAB-CHECK explorer: ' + toks.length + ' tokens shown, ' + truth.tokens.length + ' in the JSON'); return; }
    for (var q = 0; q < toks.length; q++) {
      toks[q].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
      var shown = JSON.parse(out.getAttribute('data-weights') || '[]'), row = truth.attention[L][H][q];
      if (+out.getAttribute('data-query') !== q || shown.length !== row.length) { verdict('SEQLAB-CHECK explorer: token ' + q + ' not shown'); return; }
      for (var s = 0; s < row.length; s++)
        if (Math.abs(shown[s] - row[s]) > 1e-9) {
          verdict('SEQLAB-CHECK explorer: ' + exp + ' layer ' + L + ' head ' + H + ' token ' + q + ' -> ' + s + ' shows ' + shown[s] + ', the JSON has ' + row[s]);
          return;
        }
      if (out.textContent.indexOf(truth.tokens[q]) < 0) { verdict('SEQLAB-CHECK explorer: readout does not name ' + truth.tokens[q]); return; }
      hovered++;
    }
  }
  // the curve figures: a model's button hides exactly the paths in that model's
  // colour (read from the stroke attributes here), the scale button swaps the SVGs
  var curves = doc.querySelectorAll('.curves'), toggled = 0;
  if ($need_explorer && curves.length < 2) { verdict('SEQLAB-CHECK curves: ' + curves.length + ' curve figures, expected loss_vs_step and loss_vs_time'); return; }
  var win = doc.defaultView;
  var rgbHex = function (c) {
    var m = /rgb\(\s*(\d+),\s*(\d+),\s*(\d+)/.exec(c || '');
    return m ? '#' + [m[1], m[2], m[3]].map(function (v) { return ('0' + (+v).toString(16)).slice(-2); }).join('').toUpperCase() : '';
  };
  for (var c = 0; c < curves.length; c++) {
    var cbox = curves[c], btns = cbox.querySelectorAll('.curve-model'), colors = {};
    cbox.getAttribute('data-models').split(';').forEach(function (p) { var kv = p.split('='); colors[kv[0]] = kv[1].toUpperCase(); });
    if (btns.length < 2) { verdict('SEQLAB-CHECK curves: ' + btns.length + ' model buttons in figure ' + c); return; }
    var lin = cbox.querySelector('.curve-lin'), logv = cbox.querySelector('.curve-log');
    var paths = lin.querySelectorAll('g[id^="gnuplot_plot_"] path[stroke^="rgb"]');
    var btn = btns[0], color = colors[btn.getAttribute('data-model').split('/')[0]], mine = 0, others = 0;
    btn.click();
    for (var k = 0; k < paths.length; k++) {
      if (paths[k].closest('[id\$="_keyentry"]') || paths[k].parentNode.closest('g[id^="gnuplot_plot_"]').querySelector('[id\$="_keyentry"]')) continue;
      var vis = win.getComputedStyle(paths[k]).visibility, own = rgbHex(paths[k].getAttribute('stroke')) === color;
      if (own && vis !== 'hidden') { verdict('SEQLAB-CHECK curves: ' + btn.textContent + ' hidden, but one of its paths (in ' + paths[k].parentNode.closest('g[id^="gnuplot_plot_"]').id + ') is ' + vis); return; }
      if (!own && vis === 'hidden') { verdict('SEQLAB-CHECK curves: ' + btn.textContent + ' hidden, and a path of another colour went too'); return; }
      if (own) mine++; else others++;
    }
    if (!mine || !others) { verdict('SEQLAB-CHECK curves: ' + btn.textContent + ' has ' + mine + ' paths, the others ' + others); return; }
    btn.click();
    for (var k2 = 0; k2 < paths.length; k2++)
      if (win.getComputedStyle(paths[k2]).visibility === 'hidden') { verdict('SEQLAB-CHECK curves: ' + btn.textContent + ' shown again, a path stays hidden'); return; }
    var sw = cbox.querySelector('.curve-scale');
    if (!sw || !logv) { verdict('SEQLAB-CHECK curves: no log rendering in figure ' + c); return; }
    if (win.getComputedStyle(logv).display !== 'none' || win.getComputedStyle(lin).display === 'none') { verdict('SEQLAB-CHECK curves: the linear figure is not the one shown first'); return; }
    sw.click();
    if (win.getComputedStyle(logv).display === 'none' || win.getComputedStyle(lin).display !== 'none' ||
        logv.textContent.indexOf('log scale') < 0) { verdict('SEQLAB-CHECK curves: the scale button did not show the log rendering'); return; }
    sw.click();
    if (win.getComputedStyle(lin).display === 'none') { verdict('SEQLAB-CHECK curves: the scale button did not come back to linear'); return; }
    toggled++;
  }
  verdict('SEQLAB-CHECK ok: ' + imgs.length + ' images, ' + nlinks + ' links, ' + boxes.length +
          ' explorer(s), ' + hovered + ' tokens hovered and checked against the JSON, ' + toggled +
          ' curve figure(s) with model and log toggles checked');
});
</script></body></html>
EOF

status=0
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run \
    --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 \
    --allow-file-access-from-files --virtual-time-budget=20000 \
    --dump-dom "file://$tmp/check.html" >"$tmp/dom.html" 2>"$tmp/chromium.log" || status=$?
if [ $status -ne 0 ]; then
    echo "report_chromium.sh: chromium failed (exit $status):" >&2
    tail -20 "$tmp/chromium.log" >&2
    exit 1
fi

result=$(grep -o 'SEQLAB-CHECK[^<]*' "$tmp/dom.html" | head -1 || true)
errors=$(grep -E 'ERR_FILE_NOT_FOUND|Failed to load resource|Not allowed to load local resource|Uncaught' \
         "$tmp/chromium.log" || true)
case "$result" in
"SEQLAB-CHECK ok"*)
    if [ -n "$errors" ]; then
        echo "report_chromium.sh: chromium reported load errors:" >&2
        echo "$errors" >&2
        exit 1
    fi
    echo "report_chromium.sh: $page: ${result#SEQLAB-CHECK }"
    ;;
*)
    echo "report_chromium.sh: $page: ${result:-no verdict from the checker page}" >&2
    [ -n "$errors" ] && echo "$errors" >&2
    exit 1
    ;;
esac
