/*
 * gates.c — what makes a_t and b_t of h_t = a_t ⊙ h_{t-1} + b_t from the
 * input, for minGRU, minLSTM and the time-invariant control; each a
 * forward and its backward.
 *
 * Feng et al. 2024 ("Were RNNs All We Needed?") strip the GRU and LSTM of
 * every dependence of their gates on h_{t-1}.  What is left is linear in h
 * with input-dependent ("selective") coefficients — a scan (scan.c):
 *
 *   minGRU    z = σ(u_z)  h~ = u_h           h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h~
 *   minLSTM   f = σ(u_f)  i = σ(u_i)  h~ = u_h
 *             f' = f / (f + i)  i' = i / (f + i)   h_t = f' ⊙ h_{t-1} + i' ⊙ h~
 *   lti       a = σ(θ), one learned decay per channel, the same at every
 *             step and for every input:   h_t = a ⊙ h_{t-1} + (1 − a) ⊙ u
 *
 * where u = W x_t + b is one linear layer of the input (mingru.c), rows in
 * the order listed (minGRU: z, h~; minLSTM: f, i, h~; lti: u).  minLSTM's
 * normalisation makes f' + i' = 1, so h stays a weighted average of the
 * h~'s as in minGRU.  The lti control is what a linear time-invariant
 * system (S4, a fixed-decay filter) can do: it decides how long to
 * remember before seeing the input, so it cannot keep a token because
 * the token is relevant — the selective-copy task shows the difference.
 *
 * Shapes: N rows (T*B: every step of every sequence at once — no gate
 * reads h, so there is no loop over time here), H hidden, G the rows of u
 * per unit (minGRU 2, minLSTM 3, lti 1).  u (N,G*H), a and b (N,H).
 */
#include "mingru.h"

#include "ops.h"

/* ================================ minGRU ================================== */

void mingru_gates_forward(real *a, real *b, const real *u, const real *decay, size_t N, int H)
{
    /* a, b (N,H) <- u (N,2H); decay unused */
    (void)decay;
    for (size_t r = 0; r < N; r++) {
        const real *uz = u + r * 2 * H, *uh = uz + H;
        real *ar = a + r * H, *br = b + r * H;
        for (int j = 0; j < H; j++) {
            /* z = σ(u_z) */
            real z = sigmoidr(uz[j]);
            /* h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h~,  h~ = u_h */
            ar[j] = 1 - z;
            br[j] = z * uh[j];
        }
    }
}

void mingru_gates_backward(real *du, real *ddecay, const real *da, const real *db, const real *u,
                           const real *decay, size_t N, int H)
{
    /* du (N,2H) written; da, db (N,H); u (N,2H) */
    (void)ddecay;
    (void)decay;
    for (size_t r = 0; r < N; r++) {
        const real *uz = u + r * 2 * H, *uh = uz + H;
        const real *dar = da + r * H, *dbr = db + r * H;
        real *duz = du + r * 2 * H, *duh = duz + H;
        for (int j = 0; j < H; j++) {
            real z = sigmoidr(uz[j]);
            /* forward: a = 1 − z, b = z ⊙ h~, so dz = −da + db ⊙ h~, dh~ = db ⊙ z */
            real dz = -dar[j] + dbr[j] * uh[j];
            /* forward: z = σ(u_z), so du_z = dz ⊙ z (1 − z);  h~ = u_h */
            duz[j] = dz * z * (1 - z);
            duh[j] = dbr[j] * z;
        }
    }
}

/* ================================ minLSTM ================================= */

void minlstm_gates_forward(real *a, real *b, const real *u, const real *decay, size_t N, int H)
{
    /* a, b (N,H) <- u (N,3H); decay unused */
    (void)decay;
    for (size_t r = 0; r < N; r++) {
        const real *uf = u + r * 3 * H, *ui = uf + H, *uh = ui + H;
        real *ar = a + r * H, *br = b + r * H;
        for (int j = 0; j < H; j++) {
            /* f = σ(u_f), i = σ(u_i) */
            real f = sigmoidr(uf[j]), i = sigmoidr(ui[j]);
            /* f' = f / (f + i), i' = i / (f + i):  h_t = f' ⊙ h_{t-1} + i' ⊙ h~ */
            real s = f + i;
            ar[j] = f / s;
            br[j] = i / s * uh[j];
        }
    }
}

void minlstm_gates_backward(real *du, real *ddecay, const real *da, const real *db, const real *u,
                            const real *decay, size_t N, int H)
{
    /* du (N,3H) written; da, db (N,H); u (N,3H) */
    (void)ddecay;
    (void)decay;
    for (size_t r = 0; r < N; r++) {
        const real *uf = u + r * 3 * H, *ui = uf + H, *uh = ui + H;
        const real *dar = da + r * H, *dbr = db + r * H;
        real *duf = du + r * 3 * H, *dui = duf + H, *duh = dui + H;
        for (int j = 0; j < H; j++) {
            real f = sigmoidr(uf[j]), i = sigmoidr(ui[j]), s = f + i;
            /* forward: a = f / s, b = (i / s) h~ with s = f + i:
             *   ∂a/∂f = i / s²,  ∂a/∂i = −f / s²,  ∂(i/s)/∂f = −i / s²,  ∂(i/s)/∂i = f / s²
             * so df = (da − db ⊙ h~) ⊙ i / s²,  di = (db ⊙ h~ − da) ⊙ f / s²,
             *    dh~ = db ⊙ i / s */
            real g = dar[j] - dbr[j] * uh[j], s2 = s * s;
            real df = g * i / s2, di = -g * f / s2;
            /* forward: f = σ(u_f), i = σ(u_i) */
            duf[j] = df * f * (1 - f);
            dui[j] = di * i * (1 - i);
            duh[j] = dbr[j] * i / s;
        }
    }
}

/* ==================== the time-invariant control (lti) ==================== */

void lti_gates_forward(real *a, real *b, const real *u, const real *decay, size_t N, int H)
{
    /* a, b (N,H) <- u (N,H), decay θ (H) */
    for (size_t r = 0; r < N; r++) {
        const real *ur = u + r * H;
        real *ar = a + r * H, *br = b + r * H;
        for (int j = 0; j < H; j++) {
            /* a = σ(θ): the same for every step and every input */
            real aj = sigmoidr(decay[j]);
            /* h_t = a ⊙ h_{t-1} + (1 − a) ⊙ u */
            ar[j] = aj;
            br[j] = (1 - aj) * ur[j];
        }
    }
}

void lti_gates_backward(real *du, real *ddecay, const real *da, const real *db, const real *u,
                        const real *decay, size_t N, int H)
{
    /* du (N,H) written; ddecay (H) accumulated; da, db, u (N,H); decay (H) */
    for (size_t r = 0; r < N; r++) {
        const real *ur = u + r * H, *dar = da + r * H, *dbr = db + r * H;
        real *dur = du + r * H;
        for (int j = 0; j < H; j++) {
            real aj = sigmoidr(decay[j]);
            /* forward: b = (1 − a) ⊙ u, so du = db ⊙ (1 − a) and a gets −db ⊙ u
             * besides da;  a = σ(θ), so dθ += (da − db ⊙ u) ⊙ a (1 − a), summed
             * over every row: the same θ acted at every step */
            dur[j] = dbr[j] * (1 - aj);
            ddecay[j] += (dar[j] - dbr[j] * ur[j]) * aj * (1 - aj);
        }
    }
}
