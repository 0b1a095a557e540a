/*
 * report_explorer.c — the report's attention explorer, in the manner of
 * bertviz's head view.
 *
 * The attention JSON that `seqlab run` writes for each [attention] sentence
 * (attention/sN/attention.json: {"tokens": [...], "attention": [L][NH][T][T]})
 * is embedded in the page, so the page still works offline from a file://
 * folder (a browser refuses to fetch local files).  A small script lets the
 * reader choose the sentence, the layer and the head (or the mean of the
 * heads) and hover (or tap, or focus) a token: every token it may read is
 * shaded by the weight the hovered token gives it, and the weights are
 * listed.  The listed weights are also in the readout's data-weights
 * attribute, which the browser test compares with the JSON.
 *
 * What this file is not: the heatmaps (plot.c draws them with gnuplot).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_html.h"
#include "util.h"

#define MAX_SENTENCES 16

static const char *explorer_js =
    "(function(){\n"
    "function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;if(x!==undefined)e.textContent=x;return e;}\n"
    "function init(box){\n"
    " var data=[];\n"
    " var src=box.querySelectorAll('script[type=\"application/json\"]');\n"
    " for(var i=0;i<src.length;i++)data.push(JSON.parse(src[i].textContent));\n"
    " if(!data.length)return;\n"
    " var sSel=box.querySelector('.ex-sentence'),lSel=box.querySelector('.ex-layer'),\n"
    "     hSel=box.querySelector('.ex-head'),toks=box.querySelector('.ex-tokens'),\n"
    "     out=box.querySelector('.ex-readout');\n"
    " for(var k=0;k<data.length;k++){var o=el('option','',(k+1)+': '+data[k].tokens.join(' ').slice(0,60));o.value=k;sSel.appendChild(o);}\n"
    " function fill(sel,n,label,mean){var v=sel.value;sel.innerHTML='';\n"
    "  for(var i=0;i<n;i++){var o=el('option','',label+' '+i);o.value=i;sel.appendChild(o);}\n"
    "  if(mean){var m=el('option','','mean of heads');m.value='mean';sel.appendChild(m);}\n"
    "  if(v!==''&&sel.querySelector('option[value=\"'+v+'\"]'))sel.value=v;}\n"
    " function cur(){return data[+sSel.value];}\n"
    " function weights(q){var d=cur(),l=+lSel.value,A=d.attention[l],w=[];\n"
    "  for(var s=0;s<d.tokens.length;s++){\n"
    "   if(hSel.value==='mean'){var t=0;for(var h=0;h<A.length;h++)t+=A[h][q][s];w.push(t/A.length);}\n"
    "   else w.push(A[+hSel.value][q][s]);}\n"
    "  return w;}\n"
    " function show(q){var d=cur(),w=weights(q),sp=toks.children,lines=[];\n"
    "  for(var s=0;s<sp.length;s++){var a=Math.min(1,w[s]);\n"
    "   sp[s].style.background='rgba(213,94,0,'+a.toFixed(3)+')';\n"
    "   sp[s].style.color=a>0.55?'#fff':'#222';\n"
    "   sp[s].classList.toggle('query',s===q);\n"
    "   sp[s].title=d.tokens[s]+': '+w[s].toFixed(3);\n"
    "   if(s<=q)lines.push(d.tokens[s]+' '+w[s].toFixed(3));}\n"
    "  out.textContent='\\u201c'+d.tokens[q]+'\\u201d reads: '+lines.join(', ');\n"
    "  out.setAttribute('data-query',q);\n"
    "  out.setAttribute('data-weights',JSON.stringify(w));}\n"
    " function draw(){var d=cur();\n"
    "  fill(lSel,d.attention.length,'layer',false);\n"
    "  fill(hSel,d.attention[0].length,'head',true);\n"
    "  toks.innerHTML='';\n"
    "  d.tokens.forEach(function(t,q){var s=el('span','tok',t);s.tabIndex=0;s.setAttribute('data-pos',q);\n"
    "   s.addEventListener('mouseover',function(){show(q);});\n"
    "   s.addEventListener('focus',function(){show(q);});\n"
    "   s.addEventListener('click',function(){show(q);});\n"
    "   toks.appendChild(s);});\n"
    "  show(d.tokens.length-1);}\n"
    " sSel.addEventListener('change',draw);\n"
    " lSel.addEventListener('change',function(){show(+out.getAttribute('data-query'));});\n"
    " hSel.addEventListener('change',function(){show(+out.getAttribute('data-query'));});\n"
    " draw();\n"
    "}\n"
    "var boxes=document.querySelectorAll('.explorer');\n"
    "for(var i=0;i<boxes.length;i++)init(boxes[i]);\n"
    "})();\n";

/* the file's JSON inside <script type="application/json">: every '<'
 * written as \u003c, so no "</script>" in a token can end the element */
static int put_json_file(Html *h, const char *path, int k)
{
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return 0;
    put(h, "<script type=\"application/json\" data-sentence=\"%d\">", k + 1);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '<') put(h, "\\u003c");
        else put(h, "%c", text[i]);
    }
    put(h, "</script>\n");
    free(text);
    return 1;
}

void put_attention_explorer(Html *h, const char *runs_dir, const char *name)
{
    char rel[PATH_MAX], path[PATH_MAX * 2];
    int n = 0;
    for (int k = 0; k < MAX_SENTENCES; k++) {
        snprintf(rel, sizeof rel, "%s/attention/s%d/attention.json", name, k + 1);
        if (!report_exists(runs_dir, rel)) continue;
        if (!n) {
            put(h, "<h4 id=\"");
            put_url(h, name);
            put(h, "-explorer\">Attention explorer</h4>\n<p class=\"note\">Choose a sentence, a "
                   "layer and a head, then hover (or tap) a token: each token it may read is "
                   "shaded by the attention weight it gives it, and the weights are listed "
                   "below. &ldquo;mean of heads&rdquo; averages the heads of the layer. The data: ");
        }
        put(h, "%s<a href=\"", n ? ", " : "");
        put_url(h, rel);
        put(h, "\">s%d/attention.json</a>", k + 1);
        n++;
    }
    if (!n) return;
    put(h, ".</p>\n<div class=\"explorer\" data-exp=\"");
    put_text(h, name, -1);
    put(h, "\">\n<label>sentence <select class=\"ex-sentence\"></select></label> "
           "<label>layer <select class=\"ex-layer\"></select></label> "
           "<label>head <select class=\"ex-head\"></select></label>\n"
           "<div class=\"ex-tokens\"></div>\n<p class=\"ex-readout\"></p>\n");
    for (int k = 0; k < MAX_SENTENCES; k++) {
        snprintf(path, sizeof path, "%s/%s/attention/s%d/attention.json", runs_dir, name, k + 1);
        put_json_file(h, path, k);
    }
    put(h, "</div>\n");
}

void put_explorer_script(Html *h)
{
    put(h, "<script>\n%s</script>\n", explorer_js);
}
