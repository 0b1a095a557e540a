/*
 * mingru.c — minGRU, minLSTM and the lti control as model bodies: stacked
 * layers, each one linear layer of the input, the gates, and a scan.
 *
 * One layer, all T steps at once (X its input sequence, time-major):
 *     U = X W^T + bias                 (T*B,G*H)  one product: no h inside
 *     a, b = gates(U)                  (T*B,H)    gates.c, elementwise
 *     h_t = a_t ⊙ h_{t-1} + b_t        (T+1,B,H)  scan.c, h_0 = 0
 * Layer l+1 reads layer l's h_1 .. h_T as its X; y is the top layer's h.
 * Nothing here is sequential in t except the scan, and the scan is
 * O(log T) deep (Blelloch) or 2T/P + P (chunked over P threads).
 *
 * Backward, one layer, the same lines in reverse:
 *     a, b = gates(U) again (recomputed: U is saved, a and b are not)
 *     g_t = dh_t + a_{t+1} ⊙ g_{t+1};  da_t = g_t ⊙ h_{t-1};  db_t = g_t   scan.c
 *     dU = gates_backward(da, db)                                       gates.c
 *     dX = dU W;  dW += dU^T X;  dbias += Σ dU    (core/ops.c: one product each)
 *
 * What this file is not: the gate equations (gates.c) or the scan (scan.c).
 * Shapes: see mingru.h.
 */
#include "mingru.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "parallel.h"
#include "util.h"
#include "vecmath.h"

/* lti's decay logits θ start in U(0, 4): a = σ(θ) in (0.5, 0.98), memories
 * of a couple of steps to about fifty */
#define LTI_DECAY_INIT_MAX 4.0

/* What distinguishes the three models: the gates and their parameters. */
typedef struct GateKind {
    const char *kind;          /* "mingru", "minlstm", "lti": also the parameter prefix */
    int G;                     /* rows of W per hidden unit */
    int has_decay;             /* lti: a per-channel decay θ (H) */
    void (*forward)(real *a, real *b, const real *u, const real *decay, size_t N, int H);
    void (*backward)(real *du, real *ddecay, const real *da, const real *db, const real *u,
                     const real *decay, size_t N, int H);
} GateKind;

static const GateKind mingru_gates = {"mingru", 2, 0, mingru_gates_forward, mingru_gates_backward};
static const GateKind minlstm_gates = {"minlstm", 3, 0, minlstm_gates_forward, minlstm_gates_backward};
static const GateKind lti_gates = {"lti", 1, 1, lti_gates_forward, lti_gates_backward};

typedef struct ScanLayer {
    int in;                    /* E for layer 0, H above */
    int idx_w, idx_b, idx_decay; /* tensor indices (idx_decay -1 unless lti) */
    real *W, *bias, *decay;    /* (G*H,in), (G*H), (H) or NULL */
    real *dW, *dbias, *ddecay; /* the same, in the gradient buffer */
    real *U;                   /* (T,B,G*H) saved pre-activations */
    real *h;                   /* (T+1,B,H) state history, h[0] = 0 */
} ScanLayer;

typedef struct MinBody {
    const GateKind *gates;
    ModelConfig cfg;
    int E, H, L, G;
    ScanLayer *layers;         /* (L) */
    ScanKind scan;             /* which scan (mingru_set_scan) */
    int parts;                 /* its threads; 0: the BLAS thread count */
    /* activation memory for (Bmax,Tmax) */
    int Bmax, Tmax;
    size_t act_reals;
    real *xt, *dxt;            /* (T,B,E) input and its gradient, time-major */
    real *a, *b;               /* (T,B,H) the coefficients of one layer */
    real *da, *db;             /* (T,B,H) their gradients; db = g = total dL/dh */
    real *dU;                  /* (T,B,G*H) */
    real *dh_in, *dh_below;    /* (T,B,H) dL/dh from above; the layer below's, being formed */
    real *work;                /* scan_work_len(T, B*H) */
    real *norms;               /* (Tmax) ||dL/dh_t|| of the top layer */
    int have_norms, last_B, last_T;
    real *state;               /* (L,B,H) step mode */
    real *step_u, *step_a, *step_b; /* (B,G*H), (B,H), (B,H) */
    int step_B;
} MinBody;

/* ---- layout helpers -------------------------------------------------------- */

/* dst (T,B,D) = src (B,T,D) */
static void to_time_major(real *dst, const real *src, int B, int T, int D)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            memcpy(dst + ((size_t)t * B + b) * D, src + ((size_t)b * T + t) * D,
                   (size_t)D * sizeof(real));
}

/* dst (B,T,D) (+)= src (T,B,D) */
static void from_time_major(real *dst, const real *src, int B, int T, int D, int add)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            real *d = dst + ((size_t)b * T + t) * D;
            const real *s = src + ((size_t)t * B + b) * D;
            if (add) vecmath_add(d, s, (size_t)D);
            else memcpy(d, s, (size_t)D * sizeof(real));
        }
}

/* ---- create, bind, init ------------------------------------------------------ */

int mingru_check_config(const ModelConfig *cfg, char *err, size_t errlen)
{
    if (cfg->bidirectional) {
        snprintf(err, errlen, "bidirectional = 1: model %s reads one way only (its reverse "
                              "direction is not built)", cfg->kind);
        return -1;
    }
    if (cfg->architecture != ARCH_DECODER) {
        snprintf(err, errlen, "model %s is built as a decoder only (architecture = decoder)", cfg->kind);
        return -1;
    }
    return 0;
}

static void *min_create(const GateKind *gk, const ModelConfig *cfg, ParamSet *ps, int *H)
{
    if (cfg->num_layers < 1) die("%s: num_layers must be at least 1 (got %d)", gk->kind, cfg->num_layers);
    if (cfg->hidden_size < 1) die("%s: hidden_size must be at least 1 (got %d)", gk->kind, cfg->hidden_size);
    if (cfg->embed_dim < 1) die("%s: embed_dim must be at least 1 (got %d)", gk->kind, cfg->embed_dim);
    MinBody *mb = xcalloc(1, sizeof *mb);
    mb->gates = gk;
    mb->cfg = *cfg;
    mb->E = cfg->embed_dim;
    mb->H = cfg->hidden_size;
    mb->L = cfg->num_layers;
    mb->G = gk->G;
    mb->scan = SCAN_CHUNKED;
    mb->layers = xcalloc((size_t)mb->L, sizeof *mb->layers);
    char name[PARAM_NAME_MAX];
    for (int l = 0; l < mb->L; l++) {
        ScanLayer *ly = &mb->layers[l];
        ly->in = l == 0 ? mb->E : mb->H;
        snprintf(name, sizeof name, "%s.weight_l%d", gk->kind, l);
        ly->idx_w = params_add2(ps, name, mb->G * mb->H, ly->in);
        snprintf(name, sizeof name, "%s.bias_l%d", gk->kind, l);
        ly->idx_b = params_add1(ps, name, mb->G * mb->H);
        ly->idx_decay = -1;
        if (gk->has_decay) {
            snprintf(name, sizeof name, "%s.decay_l%d", gk->kind, l);
            ly->idx_decay = params_add1(ps, name, mb->H);
        }
    }
    *H = mb->H;
    return mb;
}

static void *mingru_create(const ModelConfig *cfg, ParamSet *ps, int *H)
{
    return min_create(&mingru_gates, cfg, ps, H);
}

static void *minlstm_create(const ModelConfig *cfg, ParamSet *ps, int *H)
{
    return min_create(&minlstm_gates, cfg, ps, H);
}

static void *lti_create(const ModelConfig *cfg, ParamSet *ps, int *H)
{
    return min_create(&lti_gates, cfg, ps, H);
}

static void min_bind(void *self, ParamSet *ps)
{
    MinBody *mb = self;
    for (int l = 0; l < mb->L; l++) {
        ScanLayer *ly = &mb->layers[l];
        ly->W = params_value(ps, ly->idx_w);
        ly->bias = params_value(ps, ly->idx_b);
        ly->dW = params_grad(ps, ly->idx_w);
        ly->dbias = params_grad(ps, ly->idx_b);
        if (ly->idx_decay >= 0) {
            ly->decay = params_value(ps, ly->idx_decay);
            ly->ddecay = params_grad(ps, ly->idx_decay);
        }
    }
}

static void min_init(void *self, ParamSet *ps, gsl_rng *rng)
{
    (void)ps;
    MinBody *mb = self;
    for (int l = 0; l < mb->L; l++) {
        ScanLayer *ly = &mb->layers[l];
        size_t GH = (size_t)mb->G * mb->H;
        /* nn.Linear: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)) */
        double k = 1.0 / sqrt((double)ly->in);
        for (size_t i = 0; i < GH * ly->in; i++) ly->W[i] = (real)((2 * gsl_rng_uniform(rng) - 1) * k);
        for (size_t i = 0; i < GH; i++) ly->bias[i] = (real)((2 * gsl_rng_uniform(rng) - 1) * k);
        /* minLSTM: the forget gate's bias (rows 0 .. H-1) shifted by forget_bias */
        if (mb->gates == &minlstm_gates)
            for (int j = 0; j < mb->H; j++) ly->bias[j] += (real)mb->cfg.forget_bias;
        if (ly->decay)
            for (int j = 0; j < mb->H; j++)
                ly->decay[j] = (real)(LTI_DECAY_INIT_MAX * gsl_rng_uniform(rng));
    }
}

/* ---- activation memory ------------------------------------------------------- */

static real *acts_alloc(size_t n, size_t *total)
{
    *total += n;
    return xcalloc(n, sizeof(real));
}

static void min_alloc_acts(void *self, int B, int T)
{
    MinBody *mb = self;
    assert(mb->xt == NULL && "alloc_acts called twice");
    assert(B > 0 && T > 0);
    mb->Bmax = B;
    mb->Tmax = T;
    size_t N = (size_t)B * T, BH = (size_t)B * mb->H, GH = (size_t)mb->G * mb->H, total = 0;
    /* saved per layer: U and the state history, O(T B H) as in BPTT */
    for (int l = 0; l < mb->L; l++) {
        mb->layers[l].U = acts_alloc(N * GH, &total);
        mb->layers[l].h = acts_alloc((size_t)(T + 1) * BH, &total);
    }
    /* shared by the layers, which run one after another */
    mb->xt = acts_alloc(N * mb->E, &total);
    mb->dxt = acts_alloc(N * mb->E, &total);
    mb->a = acts_alloc(N * mb->H, &total);
    mb->b = acts_alloc(N * mb->H, &total);
    mb->da = acts_alloc(N * mb->H, &total);
    mb->db = acts_alloc(N * mb->H, &total);
    mb->dU = acts_alloc(N * GH, &total);
    mb->dh_in = acts_alloc(N * mb->H, &total);
    mb->dh_below = acts_alloc(N * mb->H, &total);
    mb->work = acts_alloc(scan_work_len(T, BH), &total);
    mb->norms = acts_alloc((size_t)T, &total);
    mb->state = acts_alloc((size_t)mb->L * BH, &total);
    mb->step_u = acts_alloc((size_t)B * GH, &total);
    mb->step_a = acts_alloc(BH, &total);
    mb->step_b = acts_alloc(BH, &total);
    mb->act_reals = total;
}

static size_t min_act_bytes(const void *self)
{
    return ((const MinBody *)self)->act_reals * sizeof(real);
}

static int scan_parts(const MinBody *mb)
{
    return mb->parts > 0 ? mb->parts : parallel_threads();
}

/* ---- forward ----------------------------------------------------------------- */

static void min_forward(void *self, real *y, const real *x, int B, int T)
{
    /* y (B,T,H), x (B,T,E) */
    MinBody *mb = self;
    assert(mb->xt && "alloc_acts before forward");
    assert(B <= mb->Bmax && T <= mb->Tmax);
    int H = mb->H, GH = mb->G * mb->H, N = B * T;
    size_t BH = (size_t)B * H;
    to_time_major(mb->xt, x, B, T, mb->E);
    for (int l = 0; l < mb->L; l++) {
        ScanLayer *ly = &mb->layers[l];
        const real *X = l == 0 ? mb->xt : mb->layers[l - 1].h + BH;     /* (T,B,in) */
        /* U = X W^T + bias: every step at once */
        linear_forward(ly->U, X, ly->W, ly->bias, N, ly->in, GH);
        /* a_t, b_t = gates(U_t) */
        mb->gates->forward(mb->a, mb->b, ly->U, ly->decay, (size_t)N, H);
        /* h_0 = 0;  h_t = a_t ⊙ h_{t-1} + b_t */
        memset(ly->h, 0, BH * sizeof(real));
        scan_forward(mb->scan, ly->h, mb->a, mb->b, mb->work, T, BH, scan_parts(mb));
    }
    from_time_major(y, mb->layers[mb->L - 1].h + BH, B, T, H, 0);
    mb->last_B = B;
    mb->last_T = T;
    mb->have_norms = 0;
}

/* ---- backward ---------------------------------------------------------------- */

static void min_backward(void *self, real *dx, const real *dy, int B, int T)
{
    /* dx (B,T,E) += or NULL, dy (B,T,H) */
    MinBody *mb = self;
    assert(B == mb->last_B && T == mb->last_T && "backward of a different forward");
    int H = mb->H, GH = mb->G * mb->H, N = B * T;
    size_t BH = (size_t)B * H;
    /* the top layer's dL/dh_t from the head, time-major */
    to_time_major(mb->dh_in, dy, B, T, H);
    for (int l = mb->L - 1; l >= 0; l--) {
        ScanLayer *ly = &mb->layers[l];
        const real *X = l == 0 ? mb->xt : mb->layers[l - 1].h + BH;     /* (T,B,in) */
        /* forward: a, b = gates(U) — recomputed */
        mb->gates->forward(mb->a, mb->b, ly->U, ly->decay, (size_t)N, H);
        /* forward: h_t = a_t ⊙ h_{t-1} + b_t:
         * g_t = dh_t + a_{t+1} ⊙ g_{t+1} (into db), da_t = g_t ⊙ h_{t-1} */
        scan_backward(mb->scan, mb->da, mb->db, NULL, mb->dh_in, mb->a, ly->h, mb->work, T, BH,
                      scan_parts(mb));
        if (l == mb->L - 1) {
            /* ||dL/dh_t|| over the batch: g_t is the total gradient of h_t */
            for (int t = 0; t < T; t++)
                mb->norms[t] = (real)sqrt(vecmath_sumsq(mb->db + (size_t)t * BH, BH));
            mb->have_norms = 1;
        }
        /* forward: a, b = gates(U) */
        mb->gates->backward(mb->dU, ly->ddecay, mb->da, mb->db, ly->U, ly->decay, (size_t)N, H);
        /* forward: U = X W^T + bias:  dX = dU W, dW += dU^T X, dbias += Σ dU */
        real *dX = l > 0 ? mb->dh_below : (dx ? mb->dxt : NULL);
        if (dX) memset(dX, 0, (size_t)N * ly->in * sizeof(real));
        linear_backward(dX, ly->dW, ly->dbias, mb->dU, X, ly->W, N, ly->in, GH);
        if (l > 0) {                     /* the layer below's dL/dh_t */
            real *swap = mb->dh_in;
            mb->dh_in = mb->dh_below;
            mb->dh_below = swap;
        }
    }
    if (dx) from_time_major(dx, mb->dxt, B, T, mb->E, 1);
}

/* ---- stepping (sampling) ------------------------------------------------------ */

static void min_state_reset(void *self, int B)
{
    MinBody *mb = self;
    assert(mb->state && "alloc_acts before state_reset");
    assert(B <= mb->Bmax);
    mb->step_B = B;
    memset(mb->state, 0, (size_t)mb->L * B * mb->H * sizeof(real));
}

static void min_step(void *self, real *y, const real *x, int B)
{
    /* y (B,H), x (B,E): one step of every layer, h = a ⊙ h + b */
    MinBody *mb = self;
    assert(B == mb->step_B && "state_reset with this B first");
    int H = mb->H, GH = mb->G * mb->H;
    const real *in = x;
    for (int l = 0; l < mb->L; l++) {
        ScanLayer *ly = &mb->layers[l];
        real *h = mb->state + (size_t)l * B * H;                         /* (B,H) */
        linear_forward(mb->step_u, in, ly->W, ly->bias, B, ly->in, GH);
        mb->gates->forward(mb->step_a, mb->step_b, mb->step_u, ly->decay, (size_t)B, H);
        for (size_t i = 0; i < (size_t)B * H; i++) h[i] = mb->step_a[i] * h[i] + mb->step_b[i];
        in = h;
    }
    memcpy(y, in, (size_t)B * H * sizeof(real));
}

/* ---- introspection and the rest ------------------------------------------------ */

static int min_grad_norms(void *self, const char *const **names, const real **norms)
{
    static const char *const series[] = {"h"};
    MinBody *mb = self;
    if (!mb->have_norms) return 0;
    *names = series;
    *norms = mb->norms;
    return 1;
}

static double min_flops(const void *self, int B, int T)
{
    /* per layer: the input product 2 N in G H, and about 10 elementwise
     * operations per unit and step for the gates and the scan */
    const MinBody *mb = self;
    double N = (double)B * T, sum = 0;
    for (int l = 0; l < mb->L; l++) sum += 2 * N * mb->layers[l].in * mb->G * mb->H + 10 * N * mb->H;
    return sum;
}

static void min_free(void *self)
{
    MinBody *mb = self;
    if (!mb) return;
    for (int l = 0; l < mb->L; l++) {
        free(mb->layers[l].U);
        free(mb->layers[l].h);
    }
    real *arrays[] = {mb->xt, mb->dxt, mb->a, mb->b, mb->da, mb->db, mb->dU, mb->dh_in,
                      mb->dh_below, mb->work, mb->norms, mb->state, mb->step_u, mb->step_a,
                      mb->step_b};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    free(mb->layers);
    free(mb);
}

void mingru_set_scan(void *body, ScanKind kind, int parts)
{
    MinBody *mb = body;
    assert(parts >= 0);
    mb->scan = kind;
    mb->parts = parts;
}

/* the three bodies differ only in create (their GateKind) */
const BodyOps mingru_body_ops = {
    .create = mingru_create,
    .bind = min_bind,
    .init = min_init,
    .alloc_acts = min_alloc_acts,
    .forward = min_forward,
    .backward = min_backward,
    .state_reset = min_state_reset,
    .step = min_step,
    .grad_norms = min_grad_norms,
    .act_bytes = min_act_bytes,
    .flops = min_flops,
    .free = min_free,
};

const BodyOps minlstm_body_ops = {
    .create = minlstm_create,
    .bind = min_bind,
    .init = min_init,
    .alloc_acts = min_alloc_acts,
    .forward = min_forward,
    .backward = min_backward,
    .state_reset = min_state_reset,
    .step = min_step,
    .grad_norms = min_grad_norms,
    .act_bytes = min_act_bytes,
    .flops = min_flops,
    .free = min_free,
};

const BodyOps lti_body_ops = {
    .create = lti_create,
    .bind = min_bind,
    .init = min_init,
    .alloc_acts = min_alloc_acts,
    .forward = min_forward,
    .backward = min_backward,
    .state_reset = min_state_reset,
    .step = min_step,
    .grad_norms = min_grad_norms,
    .act_bytes = min_act_bytes,
    .flops = min_flops,
    .free = min_free,
};
