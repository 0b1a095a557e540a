/*
 * report_curves.c — the loss curves as live figures in runs/index.html.
 *
 * loss_vs_step and loss_vs_time are drawn by gnuplot twice: linear
 * (<figure>.svg) and with a logarithmic loss axis (<figure>_log.svg, the
 * same script with logy=1).  Here both SVGs are copied into the page
 * (the XML prolog dropped), the log one hidden, inside a <div class="curves">
 * that names every model's colour (data-models="rnn=#E69F00;...").  The
 * script below gives each such figure
 *   - one toggle button per model colour found in the SVG: gnuplot puts the
 *     elements of each plot of a `plot` command into <g id="gnuplot_plot_N..">,
 *     drawn in the model's colour (plots/common.gp, model_css_color), so a
 *     group whose first coloured path (else point: <use color=..>) has the
 *     model's colour is that model's (gnuplot leaves stale stroke colours
 *     on empty <g> wrappers, so those are not read); its curves get visibility:hidden, its legend entry is dimmed;
 *   - a log/linear button that swaps the two renderings.
 * No library, nothing from the network; without script the linear SVG shows.
 *
 * What this file is not: the figures (plot_curves.c, plots/loss_curves.gp).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "report_html.h"
#include "util.h"

static const char curves_js[] =
    "(function () {\n"
    "  function hex(c) {\n"
    "    var m = /rgb\\(\\s*(\\d+),\\s*(\\d+),\\s*(\\d+)\\s*\\)/.exec(c || '');\n"
    "    if (!m) return (c || '').toUpperCase();\n"
    "    return '#' + [m[1], m[2], m[3]].map(function (v) { return ('0' + (+v).toString(16)).slice(-2); }).join('').toUpperCase();\n"
    "  }\n"
    "  function colorOf(g) {\n"
    "    var el = g.querySelector('path[stroke^=\"rgb\"]');\n"
    "    if (el) return hex(el.getAttribute('stroke'));\n"
    "    el = g.querySelector('[color^=\"rgb\"]');\n"
    "    return el ? hex(el.getAttribute('color')) : '';\n"
    "  }\n"
    "  function groups(box, color) {\n"
    "    var out = [], gs = box.querySelectorAll('g[id^=\"gnuplot_plot_\"]');\n"
    "    for (var i = 0; i < gs.length; i++)\n"
    "      if (!/_keyentry$/.test(gs[i].id) && colorOf(gs[i]) === color) out.push(gs[i]);\n"
    "    return out;\n"
    "  }\n"
    "  var boxes = document.querySelectorAll('.curves');\n"
    "  for (var b = 0; b < boxes.length; b++) (function (box) {\n"
    "    var bar = box.querySelector('.curve-controls'), seen = {};\n"
    "    box.getAttribute('data-models').split(';').forEach(function (pair) {\n"
    "      var kv = pair.split('='), color = (kv[1] || '').toUpperCase();\n"
    "      if (!kv[0]) return;\n"
    "      if (seen[color]) { seen[color].textContent += '/' + kv[0]; seen[color].setAttribute('data-model', seen[color].getAttribute('data-model') + '/' + kv[0]); return; }\n"
    "      if (!groups(box, color).length) return;\n"
    "      var btn = document.createElement('button');\n"
    "      btn.type = 'button'; btn.className = 'curve-model'; btn.setAttribute('aria-pressed', 'true');\n"
    "      btn.setAttribute('data-model', kv[0]); btn.style.borderColor = color; btn.textContent = kv[0];\n"
    "      btn.addEventListener('click', function () {\n"
    "        var on = btn.getAttribute('aria-pressed') !== 'true', gs = groups(box, color);\n"
    "        btn.setAttribute('aria-pressed', on ? 'true' : 'false');\n"
    "        for (var i = 0; i < gs.length; i++) {\n"
    "          if (gs[i].querySelector('[id$=\"_keyentry\"]')) gs[i].style.opacity = on ? '' : '0.25';\n"
    "          else gs[i].style.visibility = on ? '' : 'hidden';\n"
    "        }\n"
    "      });\n"
    "      seen[color] = btn; bar.appendChild(btn);\n"
    "    });\n"
    "    var lin = box.querySelector('.curve-lin'), log = box.querySelector('.curve-log');\n"
    "    if (!log) return;\n"
    "    var sw = document.createElement('button');\n"
    "    sw.type = 'button'; sw.className = 'curve-scale'; sw.textContent = 'loss axis: linear';\n"
    "    sw.addEventListener('click', function () {\n"
    "      var toLog = log.hidden;\n"
    "      log.hidden = !toLog; lin.hidden = toLog;\n"
    "      sw.textContent = 'loss axis: ' + (toLog ? 'log' : 'linear');\n"
    "      box.setAttribute('data-scale', toLog ? 'log' : 'linear');\n"
    "    });\n"
    "    box.setAttribute('data-scale', 'linear');\n"
    "    bar.appendChild(sw);\n"
    "  })(boxes[b]);\n"
    "})();\n";

/* runs_dir/rel copied into the page from its <svg element on; 0 if unreadable */
static int put_svg_file(Html *h, const char *runs_dir, const char *rel)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", runs_dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *s = NULL;
    size_t len = 0, cap = 0, n;
    char buf[65536];
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n + 1 > cap) { cap = 2 * (len + n + 1); s = xrealloc(s, cap); }
        memcpy(s + len, buf, n);
        len += n;
    }
    fclose(f);
    if (!s) return 0;
    s[len] = '\0';
    const char *start = strstr(s, "<svg");
    if (start) put(h, "%s", start);
    free(s);
    return start != NULL;
}

int put_curve_figure(Html *h, const char *runs_dir, const char *name, const char *figure)
{
    if (strcmp(figure, "loss_vs_step") != 0 && strcmp(figure, "loss_vs_time") != 0) return 0;
    char svg[PATH_MAX], log[PATH_MAX];
    snprintf(svg, sizeof svg, "%s/figures/%s.svg", name, figure);
    snprintf(log, sizeof log, "%s/figures/%s_log.svg", name, figure);
    if (!report_exists(runs_dir, svg)) return 0;
    put(h, "<div class=\"curves\" data-models=\"");
    int nm = model_info_count();
    for (int m = 0; m < nm; m++)
        put(h, "%s=%s%s", model_info_at(m)->name, model_css_color(model_info_at(m)->name),
            m < nm - 1 ? ";" : "");
    put(h, "\"><div class=\"curve-controls\"></div><div class=\"figscroll curve-lin\">");
    if (!put_svg_file(h, runs_dir, svg)) put(h, "(unreadable SVG)");
    put(h, "</div>");
    if (report_exists(runs_dir, log)) {
        put(h, "<div class=\"figscroll curve-log\" hidden>");
        put_svg_file(h, runs_dir, log);
        put(h, "</div>");
    }
    put(h, "</div>");
    return 1;
}

void put_curves_script(Html *h)
{
    put(h, "<script>\n%s</script>\n", curves_js);
}
