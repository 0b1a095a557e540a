/*
 * report_explorer.c — the report's attention explorer, in the manner of
 * bertviz's head view.
 *
 * Every attention JSON that `seqlab run` writes under the experiment's
 * attention/ folder is embedded in the page (so the page works offline from
 * a file:// folder, where a browser refuses to fetch local files):
 *   attention/sN/attention.json            {"tokens", "attention": [L][NH][T][T]}
 *     the first Transformer run reading the experiment's sentence N;
 *   attention/<task>-<model>_sN/attention.json
 *     {"source_tokens", "target_tokens", "attention": [L][NH][target][source]}
 *     an encoder-decoder's cross-attention (or additive attention).
 * A small script (plain JS, inline SVG, no library) draws, for the chosen
 * sentence, layer and head, two columns of tokens: on the left the tokens
 * reading (queries; a translation's output), on the right the tokens read
 * (keys; its source), and a line from each left token to each right token
 * it gives a non-zero weight, its opacity and width the weight (the causal
 * mask's zeros draw nothing).  "all heads" draws every head of the layer,
 * one colour each.  Hovering, focusing or tapping a left token keeps only
 * its lines and writes its weight beside every right token, and lists them
 * largest first; a tap pins the token until the next tap.  The weights
 * shown are also in the readout's data-weights attribute, and every line
 * carries data-q/data-k/data-h: tests/report_chromium.sh compares both with
 * the JSON.
 *
 * What this file is not: the heatmaps (plot_attention.c draws them with gnuplot).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h"
#include "util.h"

/* at most this many attention folders of an experiment in its explorer */
#define MAX_SOURCES 32

static const char explorer_js[] =
    "(function () {\n"
    "  var SVG = 'http://www.w3.org/2000/svg';\n"
    "  /* one colour per head in the all-heads view: Paul Tol's muted palette,\n"
    "   * colour-blind safe and apart from the models' colours */\n"
    "  var HEAD = ['#332288', '#CC6677', '#117733', '#AA4499', '#44AA99', '#999933', '#88CCEE', '#DDCC77'];\n"
    "  var LX = 168, RX = 292, NX = 452;   /* left tokens end, right tokens start, numbers end */\n"
    "  function el(tag, cls, text) {\n"
    "    var e = document.createElement(tag);\n"
    "    if (cls) e.className = cls;\n"
    "    if (text !== undefined) e.textContent = text;\n"
    "    return e;\n"
    "  }\n"
    "  function svg(tag, attrs, text) {\n"
    "    var e = document.createElementNS(SVG, tag);\n"
    "    for (var k in attrs) e.setAttribute(k, attrs[k]);\n"
    "    if (text !== undefined) e.textContent = text;\n"
    "    return e;\n"
    "  }\n"
    "  /* a sentence: left = the tokens reading (queries; a translation's target),\n"
    "   * right = the tokens read (keys; its source), att[layer][head][left][right] */\n"
    "  function load(script) {\n"
    "    var d = JSON.parse(script.textContent), cross = !!d.source_tokens;\n"
    "    return {dir: script.getAttribute('data-dir'), cross: cross, att: d.attention,\n"
    "            left: cross ? d.target_tokens : d.tokens, right: cross ? d.source_tokens : d.tokens};\n"
    "  }\n"
    "  function option(sel, value, text) {\n"
    "    var o = el('option', '', text);\n"
    "    o.value = value;\n"
    "    sel.appendChild(o);\n"
    "  }\n"
    "  function init(box) {\n"
    "    var scripts = box.querySelectorAll('script[type=\"application/json\"]'), data = [];\n"
    "    for (var i = 0; i < scripts.length; i++) data.push(load(scripts[i]));\n"
    "    if (!data.length) return;\n"
    "    var sSel = box.querySelector('.ex-sentence'), lSel = box.querySelector('.ex-layer'),\n"
    "        hSel = box.querySelector('.ex-head'), view = box.querySelector('.ex-view'),\n"
    "        key = box.querySelector('.ex-key'), out = box.querySelector('.ex-readout');\n"
    "    var pinned = -1, lines = [], nums = [], lefts = [];\n"
    "    data.forEach(function (d, k) {\n"
    "      var words = d.cross ? d.right.join(' ') + ' \\u2192 ' + d.left.join(' ') : d.left.join(' ');\n"
    "      option(sSel, k, (d.cross ? d.dir + ': ' : (k + 1) + ': ') + words.slice(0, 70));\n"
    "    });\n"
    "    function cur() { return data[+sSel.value]; }\n"
    "    function heads() {\n"
    "      if (hSel.value !== 'all') return [+hSel.value];\n"
    "      var hs = [];\n"
    "      for (var h = 0; h < cur().att[+lSel.value].length; h++) hs.push(h);\n"
    "      return hs;\n"
    "    }\n"
    "    function fill(sel, n, label, all) {\n"
    "      var v = sel.value;\n"
    "      sel.innerHTML = '';\n"
    "      for (var i = 0; i < n; i++) option(sel, i, label + ' ' + i);\n"
    "      if (all) option(sel, 'all', 'all heads');\n"
    "      if (v !== '' && sel.querySelector('option[value=\"' + v + '\"]')) sel.value = v;\n"
    "    }\n"
    "    /* the two columns of tokens and a line for every non-zero weight:\n"
    "     * opacity and width = the weight (a causal mask's zeros draw nothing) */\n"
    "    function draw() {\n"
    "      var d = cur(), l = +lSel.value, hs = heads(), n = Math.max(d.left.length, d.right.length);\n"
    "      var row = n > 24 ? 18 : 24, top = 22, font = n > 24 ? 13 : 15;\n"
    "      view.innerHTML = '';\n"
    "      view.setAttribute('viewBox', '0 0 460 ' + (top + row * n + 8));\n"
    "      view.appendChild(svg('text', {x: LX, y: 14, 'text-anchor': 'end', 'class': 'ex-head-label'},\n"
    "                           d.cross ? 'output (reads)' : 'reading'));\n"
    "      view.appendChild(svg('text', {x: RX, y: 14, 'class': 'ex-head-label'},\n"
    "                           d.cross ? 'source (read)' : 'read'));\n"
    "      var y = function (i) { return top + row * i + row / 2; };\n"
    "      var g = svg('g', {'class': 'ex-lines'});\n"
    "      view.appendChild(g);\n"
    "      lines = [];\n"
    "      hs.forEach(function (h) {\n"
    "        /* in the all-heads view each head's lines shifted a little, side by side */\n"
    "        var A = d.att[l][h], dy = hs.length > 1 ? (h - (hs.length - 1) / 2) * 1.5 : 0;\n"
    "        for (var q = 0; q < d.left.length; q++)\n"
    "          for (var k = 0; k < d.right.length; k++) {\n"
    "            var w = A[q][k];\n"
    "            if (!(w > 0)) continue;\n"
    "            var ln = svg('line', {x1: LX + 6, y1: y(q) + dy, x2: RX - 6, y2: y(k) + dy,\n"
    "                                  stroke: hs.length > 1 ? HEAD[h % HEAD.length] : HEAD[0],\n"
    "                                  'stroke-opacity': String(w), 'stroke-width': (1 + 3 * w).toFixed(2),\n"
    "                                  'data-q': q, 'data-k': k, 'data-h': h});\n"
    "            g.appendChild(ln);\n"
    "            lines.push(ln);\n"
    "          }\n"
    "      });\n"
    "      lefts = [];\n"
    "      nums = [];\n"
    "      d.left.forEach(function (t, q) {\n"
    "        var e = svg('text', {x: LX, y: y(q), 'text-anchor': 'end', 'dominant-baseline': 'middle',\n"
    "                             'font-size': font, 'class': 'ex-left', tabindex: 0, 'data-pos': q}, t);\n"
    "        e.addEventListener('mouseenter', function () { show(q); });\n"
    "        e.addEventListener('mouseleave', function () { show(pinned); });\n"
    "        e.addEventListener('focus', function () { show(q); });\n"
    "        e.addEventListener('click', function () { pinned = pinned === q ? -1 : q; show(pinned); });\n"
    "        view.appendChild(e);\n"
    "        lefts.push(e);\n"
    "      });\n"
    "      d.right.forEach(function (t, k) {\n"
    "        view.appendChild(svg('text', {x: RX, y: y(k), 'dominant-baseline': 'middle', 'font-size': font,\n"
    "                                      'class': 'ex-right'}, t));\n"
    "        nums.push(view.appendChild(svg('text', {x: NX, y: y(k), 'text-anchor': 'end',\n"
    "                                                'dominant-baseline': 'middle',\n"
    "                                                'font-size': font - 2, 'class': 'ex-num', 'data-pos': k}, '')));\n"
    "      });\n"
    "      key.innerHTML = '';\n"
    "      if (hs.length > 1) hs.forEach(function (h) {\n"
    "        var s = el('span', 'ex-swatch', 'head ' + h);\n"
    "        s.style.borderColor = HEAD[h % HEAD.length];\n"
    "        key.appendChild(s);\n"
    "      });\n"
    "      show(pinned < d.left.length ? pinned : -1);\n"
    "    }\n"
    "    /* q = -1: every token's lines; else only q's, and its weights to\n"
    "     * every right token beside it (the mean of the heads in the all-heads\n"
    "     * view) and listed, largest first */\n"
    "    function show(q) {\n"
    "      var d = cur(), l = +lSel.value, hs = heads();\n"
    "      lines.forEach(function (ln) {\n"
    "        ln.style.display = q < 0 || +ln.getAttribute('data-q') === q ? '' : 'none';\n"
    "      });\n"
    "      lefts.forEach(function (e, i) { e.classList.toggle('ex-query', i === q); });\n"
    "      out.setAttribute('data-query', q);\n"
    "      if (q < 0) {\n"
    "        nums.forEach(function (e) { e.textContent = ''; });\n"
    "        out.textContent = 'Hover or tap a token on the left to see what it reads.';\n"
    "        out.removeAttribute('data-weights');\n"
    "        return;\n"
    "      }\n"
    "      var w = d.right.map(function (t, k) {\n"
    "        var s = 0;\n"
    "        hs.forEach(function (h) { s += d.att[l][h][q][k]; });\n"
    "        return s / hs.length;\n"
    "      });\n"
    "      nums.forEach(function (e, k) { e.textContent = w[k] > 0 ? w[k].toFixed(3) : ''; });\n"
    "      var order = w.map(function (x, k) { return k; }).filter(function (k) { return w[k] > 0; });\n"
    "      order.sort(function (a, b) { return w[b] - w[a]; });\n"
    "      var listed = order.map(function (k) { return d.right[k] + ' ' + w[k].toFixed(3); });\n"
    "      out.textContent = '\\u201c' + d.left[q] + '\\u201d (' + (hs.length > 1 ? 'mean of the heads' : 'head ' + hs[0]) +\n"
    "        ', layer ' + l + ') reads: ' + listed.join(', ');\n"
    "      out.setAttribute('data-weights', JSON.stringify(w));\n"
    "    }\n"
    "    function sentence() {\n"
    "      var d = cur();\n"
    "      pinned = -1;\n"
    "      fill(lSel, d.att.length, 'layer', false);\n"
    "      fill(hSel, d.att[0].length, 'head', true);\n"
    "      draw();\n"
    "    }\n"
    "    sSel.addEventListener('change', sentence);\n"
    "    lSel.addEventListener('change', draw);\n"
    "    hSel.addEventListener('change', draw);\n"
    "    sentence();\n"
    "  }\n"
    "  var boxes = document.querySelectorAll('.explorer');\n"
    "  for (var i = 0; i < boxes.length; i++) init(boxes[i]);\n"
    "})();\n";

/* the file's JSON inside <script type="application/json">: every '<'
 * written as \u003c, so no "</script>" in a token can end the element */
static int put_json_file(Html *h, const char *path, const char *dir)
{
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return 0;
    put(h, "<script type=\"application/json\" data-dir=\"");
    put_text(h, dir, -1);
    put(h, "\">");
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '<') put(h, "\\u003c");
        else put(h, "%c", text[i]);
    }
    put(h, "</script>\n");
    free(text);
    return 1;
}

static int is_sentence_dir(const char *name)
{
    int k, used = 0;
    return sscanf(name, "s%d%n", &k, &used) == 1 && name[used] == '\0';
}

/* sentences first (s1, s2, ... in number order), then the cross-attention
 * folders by name */
static int source_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int sx = is_sentence_dir(x), sy = is_sentence_dir(y);
    if (sx != sy) return sy - sx;
    if (sx) return atoi(x + 1) - atoi(y + 1);
    return strcmp(x, y);
}

/* the folders under runs_dir/name/attention that hold an attention.json,
 * sorted; returns how many (at most MAX_SOURCES) */
static int attention_sources(const char *runs_dir, const char *name, char **dirs)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/attention", runs_dir, name);
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < MAX_SOURCES) {
        char rel[PATH_MAX];
        if (de->d_name[0] == '.') continue;
        snprintf(rel, sizeof rel, "%s/attention/%s/attention.json", name, de->d_name);
        if (report_exists(runs_dir, rel)) dirs[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(dirs, (size_t)n, sizeof *dirs, source_cmp);
    return n;
}

static void put_explorer_intro(Html *h, const char *name, char **dirs, int n)
{
    put(h, "<h4 id=\"");
    put_url(h, name);
    put(h, "-explorer\">Attention explorer</h4>\n<p class=\"note\">Choose a sentence, a layer and "
           "a head. Each line joins a token on the left (the one reading: the query) to a token on "
           "the right (the one read: the key); the darker and thicker the line, the larger the "
           "attention weight. A causal model's token reads only itself and the tokens before it, "
           "so there are no lines to later tokens. Hover (or tap) a token on the left: only its "
           "lines stay, its weight to every token on the right is written beside it, and the "
           "weights are listed below, largest first. &ldquo;all heads&rdquo; draws every head of "
           "the layer in its own colour. In a translation's cross-attention the output is on the "
           "left and the source on the right. The data: ");
    for (int k = 0; k < n; k++) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/attention/%s/attention.json", name, dirs[k]);
        put(h, "%s<a href=\"", k ? ", " : "");
        put_url(h, rel);
        put(h, "\">");
        put_text(h, dirs[k], -1);
        put(h, "/attention.json</a>");
    }
    put(h, ".</p>\n");
}

void put_attention_explorer(Html *h, const char *runs_dir, const char *name)
{
    char *dirs[MAX_SOURCES];
    int n = attention_sources(runs_dir, name, dirs);
    if (!n) return;
    put_explorer_intro(h, name, dirs, n);
    put(h, "<div class=\"explorer\" data-exp=\"");
    put_text(h, name, -1);
    put(h, "\">\n<div class=\"ex-controls\"><label>sentence <select class=\"ex-sentence\"></select></label> "
           "<label>layer <select class=\"ex-layer\"></select></label> "
           "<label>head <select class=\"ex-head\"></select></label></div>\n"
           "<div class=\"ex-key\"></div>\n"
           "<svg class=\"ex-view\" role=\"img\" "
           "aria-label=\"attention weights as lines between two columns of tokens\"></svg>\n"
           "<p class=\"ex-readout\" aria-live=\"polite\"></p>\n");
    for (int k = 0; k < n; k++) {
        char path[PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s/attention/%s/attention.json", runs_dir, name, dirs[k]);
        put_json_file(h, path, dirs[k]);
        free(dirs[k]);
    }
    put(h, "</div>\n");
}

void put_explorer_script(Html *h)
{
    put(h, "<script>\n%s</script>\n", explorer_js);
}
