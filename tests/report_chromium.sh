#!/bin/sh
# report_chromium.sh — load runs/index.html in headless Chromium and fail on
# any resource it cannot load.
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
# <a href> can be read; --dump-dom prints its verdict.  Chromium's own log
# (--enable-logging --v=0) is also searched for load errors, and the page
# itself for anything that would reach the network.
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

if [ $# -ge 1 ]; then
    runs=$(cd "$1" && pwd)
else
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
  verdict(bad.length ? 'SEQLAB-CHECK missing: ' + bad.join(' | ')
                     : 'SEQLAB-CHECK ok: ' + imgs.length + ' images, ' + nlinks + ' links');
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
errors=$(grep -E 'ERR_FILE_NOT_FOUND|Failed to load resource|Not allowed to load local resource' \
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
