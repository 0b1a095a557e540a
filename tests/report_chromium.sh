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
# <a href> can be read; then, in each attention explorer, for every sentence
# (the fixture gains an encoder-decoder's cross-attention, written here by
# `seqlab attention` from a fixture checkpoint) it chooses the last layer
# and head (and layer 0 head 0 in the first), hovers every token on the left
# (a mouseenter event, as a pointer sends) and writes into the page what the
# explorer then shows: the number beside each token on the right and the
# opacity of each line still drawn (and that no other token's line is).
# --dump-dom prints the page; this script compares those numbers and
# opacities with the attention.json on disk (jq), within 1e-3, a zero
# weight (the causal mask) showing neither, and counts the lines of the
# "all heads" view (one colour per head).  Any JavaScript error in the page
# fails the test.
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

if ! command -v jq >/dev/null 2>&1; then
    echo "report_chromium.sh: needs jq to read the attention JSON (apt-get install jq)" >&2
    exit 1
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
    # an encoder-decoder's cross-attention (target x source), as `seqlab run`
    # writes it for a translation experiment, from a fixture checkpoint
    "$seqlab" attention --checkpoint tests/fixtures/encdec_eval.safetensors --text "ba" --json \
        --out "$tmp/runs/plotrun/attention/reverse-lstm-additive_s1" >"$tmp/attention.log" 2>&1 || {
        cat "$tmp/attention.log" >&2
        echo "report_chromium.sh: seqlab attention failed" >&2
        exit 1
    }
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
<!DOCTYPE html><html><body><pre id="result">SEQLAB-CHECK pending</pre><pre id="rows"></pre>
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
  // the attention explorers: in every sentence, for the last layer and head
  // (and, in the first, layer 0 head 0) hover each left token and write what
  // the explorer shows into #rows, one line per right token:
  //   ROW experiment folder layer head query key number-shown line-opacity
  // ("none": nothing shown); the shell side compares them with the JSON
  var win = doc.defaultView, jsErrors = [], rows = [];
  win.addEventListener('error', function (e) { jsErrors.push(e.message); });
  var boxes = doc.querySelectorAll('.explorer'), hovered = 0, allHeads = 0;
  if ($need_explorer && !boxes.length) { verdict('SEQLAB-CHECK explorer: none on the page'); return; }
  var sel = function (box, c, v) { var s = box.querySelector(c); s.value = String(v); s.dispatchEvent(new Event('change')); };
  var shown = function (ln) { return win.getComputedStyle(ln).display !== 'none'; };
  for (var b = 0; b < boxes.length; b++) {
    var box = boxes[b], exp = box.getAttribute('data-exp'), out = box.querySelector('.ex-readout');
    var jsons = box.querySelectorAll('script[type="application/json"]');
    if (box.querySelector('.ex-sentence').options.length !== jsons.length) { verdict('SEQLAB-CHECK explorer: ' + jsons.length + ' attention files, ' + box.querySelector('.ex-sentence').options.length + ' sentences to choose'); return; }
    for (var k = 0; k < jsons.length; k++) {
      var dir = jsons[k].getAttribute('data-dir');
      sel(box, '.ex-sentence', k);
      var L = box.querySelector('.ex-layer').options.length - 1, H = box.querySelector('.ex-head').options.length - 2;
      var picks = [[L, H]];
      if (k === 0 && L + H > 0) picks.push([0, 0]);
      for (var p = 0; p < picks.length; p++) {
        sel(box, '.ex-layer', picks[p][0]); sel(box, '.ex-head', picks[p][1]);
        var lefts = box.querySelectorAll('.ex-view .ex-left'), nums = box.querySelectorAll('.ex-view .ex-num');
        var lines = box.querySelectorAll('.ex-view line');
        for (var q = 0; q < lefts.length; q++) {
          lefts[q].dispatchEvent(new MouseEvent('mouseenter'));
          if (+out.getAttribute('data-query') !== q || out.textContent.indexOf(lefts[q].textContent) < 0) { verdict('SEQLAB-CHECK explorer: ' + dir + ' token ' + q + ' hovered, the readout is not about it'); return; }
          var opacity = {};
          for (var i = 0; i < lines.length; i++) {
            if (!shown(lines[i])) continue;
            if (+lines[i].getAttribute('data-q') !== q) { verdict('SEQLAB-CHECK explorer: ' + dir + ' token ' + q + ' hovered, a line of token ' + lines[i].getAttribute('data-q') + ' still shows'); return; }
            opacity[lines[i].getAttribute('data-k')] = lines[i].getAttribute('stroke-opacity');
          }
          for (var s = 0; s < nums.length; s++)
            rows.push(['ROW', exp, dir, picks[p][0], picks[p][1], q, s, nums[s].textContent || 'none', opacity[s] || 'none'].join(' '));
          lefts[q].dispatchEvent(new MouseEvent('mouseleave'));
          for (var i2 = 0; i2 < lines.length; i2++)
            if (!shown(lines[i2])) { verdict('SEQLAB-CHECK explorer: ' + dir + ' pointer gone, a line stays hidden'); return; }
          hovered++;
        }
      }
      // all heads: one colour per head, every head's lines of the hovered token
      sel(box, '.ex-head', 'all');
      var last = box.querySelectorAll('.ex-view .ex-left'), colours = {}, nshown = 0, nheads = H + 1;
      last[last.length - 1].dispatchEvent(new MouseEvent('mouseenter'));
      var all = box.querySelectorAll('.ex-view line');
      for (var j = 0; j < all.length; j++)
        if (shown(all[j])) { nshown++; colours[all[j].getAttribute('data-h')] = all[j].getAttribute('stroke'); }
      var distinct = {};
      for (var hh in colours) distinct[colours[hh]] = 1;
      if (Object.keys(colours).length !== nheads || Object.keys(distinct).length !== nheads) { verdict('SEQLAB-CHECK explorer: ' + dir + ' all heads: lines of ' + Object.keys(colours).length + ' heads in ' + Object.keys(distinct).length + ' colours, expected ' + nheads); return; }
      rows.push(['ALL', exp, dir, L, last.length - 1, nshown].join(' '));
      allHeads++;
    }
  }
  document.getElementById('rows').textContent = '\n' + rows.join('\n') + '\n';
  // the curve figures: a model's button hides exactly the paths in that model's
  // colour (read from the stroke attributes here), the scale button swaps the SVGs
  var curves = doc.querySelectorAll('.curves'), toggled = 0;
  if ($need_explorer && curves.length < 2) { verdict('SEQLAB-CHECK curves: ' + curves.length + ' curve figures, expected loss_vs_step and loss_vs_time'); return; }
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
  if (jsErrors.length) { verdict('SEQLAB-CHECK javascript error: ' + jsErrors.join(' | ')); return; }
  verdict('SEQLAB-CHECK ok: ' + imgs.length + ' images, ' + nlinks + ' links, ' + boxes.length +
          ' explorer(s), ' + hovered + ' tokens hovered, ' + allHeads + ' all-heads views, ' + toggled +
          ' curve figure(s) with model and log toggles checked');
});
</script></body></html>
EOF

# what the explorers showed (the #rows lines) against the attention JSON:
# for each (experiment, folder, layer, head) jq lists the weights "q k w";
# a number shown and a line's opacity must be within 1e-3 of w, and a zero
# weight (the causal mask) must show neither; the all-heads view shows one
# line per non-zero weight of every head.  Prints ", N weights compared"
# or, failing, the first difference (and returns 1).
compare_explorer() {
    grep -E '^(ROW|ALL) ' "$tmp/dom.html" >"$tmp/rows.txt" || true
    [ -s "$tmp/rows.txt" ] || { [ "$need_explorer" = false ] && return 0; echo " no rows"; return 1; }
    awk '$1 == "ROW" { print $2, $3, $4, $5 }' "$tmp/rows.txt" | sort -u >"$tmp/picks.txt"
    : >"$tmp/truth.txt"
    while read -r exp dir l h; do
        jq -r --argjson l "$l" --argjson h "$h" --arg key "$exp $dir $l $h" \
            '.attention[$l][$h] | to_entries[] | .key as $q | .value | to_entries[] |
             "\($key) \($q) \(.key) \(.value)"' "$runs/$exp/attention/$dir/attention.json" >>"$tmp/truth.txt"
    done <"$tmp/picks.txt"
    awk '$1 == "ALL" { print $2, $3, $4, $5, $6 }' "$tmp/rows.txt" | while read -r exp dir l q n; do
        want=$(jq --argjson l "$l" --argjson q "$q" '[.attention[$l][][$q][] | select(. > 0)] | length' \
               "$runs/$exp/attention/$dir/attention.json")
        [ "$n" -eq "$want" ] || { echo " $dir layer $l all heads: token $q has $n lines, the JSON $want non-zero weights"; return 1; }
    done || return 1
    awk 'NR == FNR { w[$1 " " $2 " " $3 " " $4 " " $5 " " $6] = $7; next }
         $1 == "ROW" {
             key = $2 " " $3 " " $4 " " $5 " " $6 " " $7
             if (!(key in w)) { printf " %s: not in the JSON\n", key; bad = 1; exit 1 }
             t = w[key] + 0; n++
             for (i = 8; i <= 9; i++) {
                 what = i == 8 ? "number" : "line opacity"
                 if ($i == "none") { if (t != 0) { printf " %s: no %s, the JSON has %s\n", key, what, t; bad = 1; exit 1 } }
                 else if (t == 0) { printf " %s: %s %s for a zero weight\n", key, what, $i; bad = 1; exit 1 }
                 else if ($i - t > 1e-3 || t - $i > 1e-3) { printf " %s: %s %s, the JSON has %s\n", key, what, $i, t; bad = 1; exit 1 }
             }
         }
         END { if (!bad) printf ", %d weights compared with the JSON (1e-3)", n }' "$tmp/truth.txt" "$tmp/rows.txt"
}

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
case "$result" in
"SEQLAB-CHECK ok"*)
    if cmp=$(compare_explorer); then result="$result$cmp"; else result="SEQLAB-CHECK explorer:$cmp"; fi ;;
esac
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
