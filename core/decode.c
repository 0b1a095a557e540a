/*
 * decode.c — greedy decoding and beam search for an encoder–decoder.
 *
 * The decoder gives p(y_t | y_<t, x).  The most likely sentence,
 * argmax_y sum_t log p(y_t | y_<t, x), cannot be searched exhaustively
 * (V^n sentences), so:
 *
 *   greedy   y_t = argmax_v p(v | y_<t, x): one hypothesis, one step at a time
 *   beam     keep the K best prefixes: extend each by every token, keep the
 *            K best of the K V extensions; a hypothesis is finished when its
 *            extension by <eos> is among the K best; stop when K are
 *            finished (or at the length limit) and take the best finished
 *
 * Each step feeds only the new token: the model carries its state (the
 * Transformer's key/value cache, the recurrent state), and beam search asks
 * it to reorder that state when a beam continues another's prefix
 * (EncDecOps.reorder).  With K = 1 the best extension is the greedy token,
 * so beam 1 = greedy exactly.  <bos> is never emitted.
 *
 * What this file is not: the model (encdec.h) or the scores (translate.c).
 * Shapes: B sources, S longest source, N the length limit, O target classes.
 */
#include "decode.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encdec.h"
#include "util.h"

/* log softmax of one row of O logits, into lp (O), in double */
static void log_softmax(double *lp, const real *logits, int O)
{
    double mx = logits[0];
    for (int v = 1; v < O; v++) if (logits[v] > mx) mx = logits[v];
    double sum = 0;
    for (int v = 0; v < O; v++) sum += exp((double)logits[v] - mx);
    double lse = mx + log(sum);
    for (int v = 0; v < O; v++) lp[v] = (double)logits[v] - lse;
}

/* the most likely token other than <bos> */
static int best_token(const double *lp, int O, int bos)
{
    int best = bos == 0 ? 1 : 0;
    for (int v = 0; v < O; v++)
        if (v != bos && lp[v] > lp[best]) best = v;
    return best;
}

void decode_greedy(Model *m, const int *src, const int *src_len, int B, int S, int N, int *out,
                   int *out_len, double *score)
{
    const EncDecOps *ops = m->encdec_ops;
    assert(ops && "decoding needs an encoder-decoder");
    assert(B <= m->Bmax && S <= m->Smax && N + 1 <= m->Tmax);
    int O = m->cfg.output_size, bos = O - 2, eos = O - 1;
    int *tok = xmalloc((size_t)B * sizeof(int)), *done = xcalloc((size_t)B, sizeof(int));
    double *lp = xmalloc((size_t)O * sizeof(double));
    for (int b = 0; b < B; b++) {
        tok[b] = bos;
        out_len[b] = 0;
        if (score) score[b] = 0;
    }
    ops->encode(m->encdec, src, src_len, B, S);
    int left = B;
    for (int t = 0; t <= N && left > 0; t++) {
        ops->decode_step(m->encdec, m->logits, tok, B);
        for (int b = 0; b < B; b++) {
            if (done[b]) continue;
            log_softmax(lp, m->logits + (size_t)b * O, O);
            int v = best_token(lp, O, bos);
            /* <eos> ends the row; so does the length limit */
            if (v == eos || t == N) {
                if (v == eos && score) score[b] += lp[v];
                done[b] = 1;
                left--;
                continue;
            }
            out[(size_t)b * N + t] = v;
            out_len[b] = t + 1;
            if (score) score[b] += lp[v];
            tok[b] = v;
        }
    }
    free(tok);
    free(done);
    free(lp);
}

/* one candidate extension: hypothesis `parent` + token */
typedef struct Cand {
    double score;
    int parent, token;
} Cand;

static int cand_desc(const void *a, const void *b)
{
    const Cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    /* ties: the lower parent, then the lower token (a fixed order) */
    if (x->parent != y->parent) return x->parent - y->parent;
    return x->token - y->token;
}

int decode_beam_search(Model *m, const int *src, int ns, int K, int N, int *out, double *score)
{
    const EncDecOps *ops = m->encdec_ops;
    assert(ops && K >= 1 && K <= m->Bmax && ns <= m->Smax && N + 1 <= m->Tmax);
    int O = m->cfg.output_size, bos = O - 2, eos = O - 1;

    int *srcs = xmalloc((size_t)K * ns * sizeof(int)), *lens = xmalloc((size_t)K * sizeof(int));
    for (int k = 0; k < K; k++) {
        memcpy(srcs + (size_t)k * ns, src, (size_t)ns * sizeof(int));
        lens[k] = ns;
    }
    int *hyp = xcalloc((size_t)K * (N + 1), sizeof(int)), *next = xcalloc((size_t)K * (N + 1), sizeof(int));
    double *hscore = xcalloc((size_t)K, sizeof(double)), *nscore = xcalloc((size_t)K, sizeof(double));
    int *tok = xmalloc((size_t)K * sizeof(int)), *from = xcalloc((size_t)K, sizeof(int));
    double *lp = xmalloc((size_t)O * sizeof(double));
    Cand *cand = xmalloc((size_t)K * O * sizeof(Cand));
    int *fin_tok = xmalloc((size_t)(N + 1) * sizeof(int));
    int fin_len = -1, finished = 0;
    double fin_score = -INFINITY;

    ops->encode(m->encdec, srcs, lens, K, ns);
    int live = 1;                       /* at t = 0 every row holds the same empty prefix */
    for (int k = 0; k < K; k++) tok[k] = bos;
    for (int t = 0; t <= N && live > 0 && finished < K; t++) {
        ops->decode_step(m->encdec, m->logits, tok, K);
        int nc = 0;
        for (int k = 0; k < live; k++) {
            log_softmax(lp, m->logits + (size_t)k * O, O);
            if (t == N) {
                /* the length limit: a hypothesis ends here, with <eos> if that is
                 * its most likely token (as greedy does) */
                int v = best_token(lp, O, bos);
                double s = hscore[k] + (v == eos ? lp[v] : 0);
                if (s > fin_score) {
                    fin_score = s;
                    fin_len = t;
                    memcpy(fin_tok, hyp + (size_t)k * (N + 1), (size_t)t * sizeof(int));
                }
                continue;
            }
            for (int v = 0; v < O; v++)
                if (v != bos) cand[nc++] = (Cand){hscore[k] + lp[v], k, v};
        }
        if (t == N) break;
        qsort(cand, (size_t)nc, sizeof *cand, cand_desc);
        /* the K best: <eos> extensions finish, the others are the next beams */
        int nlive = 0;
        for (int i = 0; i < nc && nlive < K; i++) {
            const Cand *c = &cand[i];
            if (c->token == eos) {
                if (i < K) {
                    finished++;
                    if (c->score > fin_score) {
                        fin_score = c->score;
                        fin_len = t;
                        memcpy(fin_tok, hyp + (size_t)c->parent * (N + 1), (size_t)t * sizeof(int));
                    }
                }
                continue;
            }
            memcpy(next + (size_t)nlive * (N + 1), hyp + (size_t)c->parent * (N + 1), (size_t)t * sizeof(int));
            next[(size_t)nlive * (N + 1) + t] = c->token;
            nscore[nlive] = c->score;
            from[nlive] = c->parent;
            tok[nlive] = c->token;
            nlive++;
        }
        for (int k = nlive; k < K; k++) {
            from[k] = 0;
            tok[k] = bos;
        }
        int *swap = hyp;
        hyp = next;
        next = swap;
        double *sw = hscore;
        hscore = nscore;
        nscore = sw;
        live = nlive;
        ops->reorder(m->encdec, from, K);
    }
    assert(fin_len >= 0 && "every search ends with a finished hypothesis");
    memcpy(out, fin_tok, (size_t)fin_len * sizeof(int));
    if (score) *score = fin_score;
    free(srcs);
    free(lens);
    free(hyp);
    free(next);
    free(hscore);
    free(nscore);
    free(tok);
    free(from);
    free(lp);
    free(cand);
    free(fin_tok);
    return fin_len;
}

int decode_beam(Model *m, const int *src, int ns, int K, int N, int *out, double *score)
{
    /* the greedy hypothesis is a candidate that beam search must beat: the
     * K best prefixes of one step need not contain greedy's, so without it
     * a beam could end below the greedy sentence */
    int glen, *gout = xmalloc((size_t)(N > 0 ? N : 1) * sizeof(int));
    double gscore, bscore;
    decode_greedy(m, src, &ns, 1, ns, N, gout, &glen, &gscore);
    int len = decode_beam_search(m, src, ns, K, N, out, &bscore);
    if (gscore > bscore) {
        memcpy(out, gout, (size_t)glen * sizeof(int));
        len = glen;
        bscore = gscore;
    }
    free(gout);
    if (score) *score = bscore;
    return len;
}
