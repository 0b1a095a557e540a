/*
 * params.c — the named-view parameter buffer (see params.h).
 */
#include "params.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void params_init(ParamSet *ps)
{
    memset(ps, 0, sizeof *ps);
}

int params_add(ParamSet *ps, const char *name, int ndim, const int *shape)
{
    assert(ps->value == NULL && "params_add after params_alloc");
    assert(ndim >= 1 && ndim <= PARAM_MAX_DIMS);
    assert(strlen(name) < PARAM_NAME_MAX);
    assert(params_find(ps, name) < 0 && "duplicate parameter name");
    if (ps->count == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->views = xrealloc(ps->views, (size_t)ps->cap * sizeof *ps->views);
    }
    ParamView *v = &ps->views[ps->count];
    memset(v, 0, sizeof *v);
    strcpy(v->name, name);
    v->ndim = ndim;
    v->size = 1;
    for (int i = 0; i < ndim; i++) {
        assert(shape[i] > 0);
        v->shape[i] = shape[i];
        v->size *= (size_t)shape[i];
    }
    v->offset = ps->total;
    ps->total += v->size;
    return ps->count++;
}

int params_add1(ParamSet *ps, const char *name, int d0)
{
    int shape[1] = {d0};
    return params_add(ps, name, 1, shape);
}

int params_add2(ParamSet *ps, const char *name, int d0, int d1)
{
    int shape[2] = {d0, d1};
    return params_add(ps, name, 2, shape);
}

void params_alloc(ParamSet *ps)
{
    assert(ps->value == NULL);
    ps->value = xcalloc(ps->total, sizeof(real));
    ps->grad = xcalloc(ps->total, sizeof(real));
}

void params_free(ParamSet *ps)
{
    free(ps->views);
    free(ps->value);
    free(ps->grad);
    memset(ps, 0, sizeof *ps);
}

int params_find(const ParamSet *ps, const char *name)
{
    for (int i = 0; i < ps->count; i++)
        if (strcmp(ps->views[i].name, name) == 0) return i;
    return -1;
}

void params_zero_grad(ParamSet *ps)
{
    memset(ps->grad, 0, ps->total * sizeof(real));
}
