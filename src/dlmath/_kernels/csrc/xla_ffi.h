/* The row kernels as XLA custom calls (jax.ffi), for JAX arrays on the CPU: included by module.c
 * once, after the kernels' job bodies.
 *
 * XLA calls a handler with one argument, a call frame, under its C ABI (the "XLA FFI" API, major
 * version 0), which is stable by design: every struct starts with its size, fields are only ever
 * appended. The declarations below are the part of that layout these handlers read, written from
 * its documentation, with the project's names: a call frame holds the API table, the stage, the
 * argument buffers, the result buffers and the attributes; a buffer its dtype, data, rank and
 * dimensions. Nothing
 * here needs JAX's headers, so the extension builds the same with or without JAX installed.
 *
 * Before running a handler XLA may call it once with a metadata extension in the call frame, to
 * learn the API version it was written for; the handler answers and returns.
 *
 * Handlers (each over the last dimension; leading dimensions are rows):
 *   dlmath_lse(x) -> lse                          LogSumExp of each row, in x's dtype
 *   dlmath_lse_softmax(x) -> lse, p               the LogSumExp and the softmax, from one pass
 *   dlmath_softmax(x; tau) -> y                   softmax of x / tau (tau a float64 attribute)
 *   dlmath_log_softmax(x; tau) -> y               log-softmax of x / tau
 *   dlmath_softmax_bwd(y, g; tau) -> gx           the softmax's backward from its output y
 *   dlmath_log_softmax_bwd_p(p, g; tau) -> gx     the log-softmax's backward from the softmax p
 *   dlmath_xent_index(z, t) -> loss               cross-entropy against class indices (int32/int64)
 *   dlmath_xent_grad_index(z, t) -> g             its gradient p - e_t
 *   dlmath_xent_loss_grad_index(z, t) -> loss, g  both, from one pass over z
 * A row whose class index is out of range gets NaN (its loss, or every entry of its gradient).
 * float32 and float64 only: the Python side widens the half-precision types first.
 */
#ifndef DL_XLA_FFI_H
#define DL_XLA_FFI_H

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ the ABI, as far as it is read */

typedef struct dl_xla_ext {
    size_t struct_size;
    int type; /* 1: metadata */
    struct dl_xla_ext *next;
} dl_xla_ext;

typedef struct dl_xla_version {
    size_t struct_size;
    dl_xla_ext *extension_start;
    int major_version;
    int minor_version;
} dl_xla_version;

typedef struct dl_xla_metadata {
    size_t struct_size;
    dl_xla_version api_version;
    uint32_t traits;
} dl_xla_metadata;

typedef struct dl_xla_metadata_ext {
    dl_xla_ext base;
    dl_xla_metadata *metadata;
} dl_xla_metadata_ext;

typedef struct dl_xla_error dl_xla_error; /* opaque, owned by XLA once returned */

typedef struct dl_xla_error_args {
    size_t struct_size;
    dl_xla_ext *extension_start;
    const char *message;
    int code; /* 3: invalid argument */
} dl_xla_error_args;

typedef struct dl_xla_api {
    size_t struct_size;
    dl_xla_ext *extension_start;
    dl_xla_version api_version;
    const void *internal_api;
    dl_xla_error *(*error_create)(dl_xla_error_args *args);
    /* further entries are not used */
} dl_xla_api;

typedef struct dl_xla_buffer {
    size_t struct_size;
    dl_xla_ext *extension_start;
    int dtype; /* XLA's primitive type: 4 s32, 5 s64, 11 f32, 12 f64 */
    void *data;
    int64_t rank;
    int64_t *dims;
} dl_xla_buffer;

typedef struct dl_xla_list { /* the arguments, or the results: all buffers here */
    size_t struct_size;
    dl_xla_ext *extension_start;
    int64_t size;
    int *types;
    void **items;
} dl_xla_list;

typedef struct dl_xla_span {
    const char *ptr;
    size_t len;
} dl_xla_span;

typedef struct dl_xla_scalar {
    int dtype;
    void *value;
} dl_xla_scalar;

typedef struct dl_xla_attrs { /* sorted by name */
    size_t struct_size;
    dl_xla_ext *extension_start;
    int64_t size;
    int *types; /* 3: scalar */
    dl_xla_span **names;
    void **attrs;
} dl_xla_attrs;

typedef struct dl_xla_frame {
    size_t struct_size;
    dl_xla_ext *extension_start;
    const dl_xla_api *api;
    void *ctx;
    int stage; /* 3: execute */
    dl_xla_list args;
    dl_xla_list rets;
    dl_xla_attrs attrs;
    /* a future follows, not used */
} dl_xla_frame;

enum { DL_XLA_S32 = 4, DL_XLA_S64 = 5, DL_XLA_F32 = 11, DL_XLA_F64 = 12 };

/* ------------------------------------------------------------------ plumbing */

static int dl_xla_threads = 1; /* set from Python (dlmath's thread count) */

static dl_xla_error *dl_xla_fail(const dl_xla_frame *f, const char *msg)
{
    dl_xla_error_args a = {sizeof a, NULL, msg, 3};
    return f->api->error_create(&a);
}

/* The metadata query: answer the API version these declarations follow (0.1). */
static int dl_xla_metadata_call(dl_xla_frame *f)
{
    for (dl_xla_ext *e = f->extension_start; e; e = e->next)
        if (e->type == 1) {
            dl_xla_metadata *m = ((dl_xla_metadata_ext *)e)->metadata;
            m->api_version.major_version = 0;
            m->api_version.minor_version = 1;
            m->traits = 0;
            return 1;
        }
    return 0;
}

static dl_xla_buffer *dl_xla_arg(const dl_xla_frame *f, int i) { return (dl_xla_buffer *)f->args.items[i]; }
static dl_xla_buffer *dl_xla_ret(const dl_xla_frame *f, int i) { return (dl_xla_buffer *)f->rets.items[i]; }

/* rows and row length of a buffer of rank >= 1; its dtype code, or -1 */
static int dl_xla_matrix(const dl_xla_buffer *b, dl_int *R, dl_int *K)
{
    if (b->rank < 1) return -1;
    dl_int r = 1;
    for (int64_t i = 0; i + 1 < b->rank; i++) r *= (dl_int)b->dims[i];
    *R = r;
    *K = (dl_int)b->dims[b->rank - 1];
    return b->dtype == DL_XLA_F32 ? DL_F32 : b->dtype == DL_XLA_F64 ? DL_F64 : -1;
}

/* the float64 scalar attribute of that name, or NaN */
static double dl_xla_f64_attr(const dl_xla_frame *f, const char *name)
{
    size_t n = strlen(name);
    for (int64_t i = 0; i < f->attrs.size; i++) {
        const dl_xla_span *s = f->attrs.names[i];
        if (f->attrs.types[i] == 3 && s->len == n && !memcmp(s->ptr, name, n)) {
            const dl_xla_scalar *v = (const dl_xla_scalar *)f->attrs.attrs[i];
            if (v->dtype == DL_XLA_F64) return *(const double *)v->value;
        }
    }
    return NAN;
}

static int dl_xla_index_code(const dl_xla_buffer *t)
{
    return t->dtype == DL_XLA_S32 ? DL_I32 : t->dtype == DL_XLA_S64 ? DL_I64 : -1;
}

/* the job over all rows, split as every call is (module.c dl_split) */
static dl_int dl_xla_run(dl_job *job, dl_int R, dl_int K)
{
    dl_int chunk;
    int n = dl_split(R, K, dl_xla_threads, &chunk);
    return n > 1 ? dl_pool_run(job, 0, R, chunk, n) : job->body(job, 0, R);
}

/* A large result buffer that XLA has just allocated is untouched memory: see dl_advise_huge. */
static void dl_xla_advise(const dl_xla_buffer *b, size_t itemsize)
{
    size_t n = itemsize;
    for (int64_t i = 0; i < b->rank; i++) n *= (size_t)b->dims[i];
    dl_advise_huge(b->data, n);
}

/* Prologue of a handler: the metadata query, other stages, and the buffers' shapes. */
#define DL_XLA_BEGIN_N(f, nargs, nrets)                                                                      \
    if (dl_xla_metadata_call(f)) return NULL;                                                               \
    if ((f)->stage != 3) return NULL;                                                                        \
    if ((f)->args.size != (nargs) || (f)->rets.size != (nrets))                                              \
        return dl_xla_fail(f, "dlmath: wrong number of buffers");
#define DL_XLA_BEGIN(f, nargs) DL_XLA_BEGIN_N(f, nargs, 1)

/* ------------------------------------------------------------------ handlers */

static dl_xla_error *dl_xla_lse(dl_xla_frame *f)
{
    DL_XLA_BEGIN(f, 1)
    const dl_xla_buffer *x = dl_xla_arg(f, 0), *out = dl_xla_ret(f, 0);
    dl_int R, K;
    int dt = dl_xla_matrix(x, &R, &K);
    if (dt < 0 || out->dtype != x->dtype) return dl_xla_fail(f, "dlmath_lse: float32 or float64 rows");
    dl_job job = {body_lse, {dt, (Py_ssize_t)x->data, K, K, 0, R, (Py_ssize_t)out->data, dt}, {0}};
    return dl_xla_run(&job, R, K) == -2 ? dl_xla_fail(f, "dlmath_lse: out of memory") : NULL;
}

static dl_xla_error *dl_xla_lse_softmax(dl_xla_frame *f)
{
    DL_XLA_BEGIN_N(f, 1, 2)
    const dl_xla_buffer *x = dl_xla_arg(f, 0), *lse = dl_xla_ret(f, 0), *p = dl_xla_ret(f, 1);
    dl_int R, K;
    int dt = dl_xla_matrix(x, &R, &K);
    if (dt < 0 || lse->dtype != x->dtype || p->dtype != x->dtype)
        return dl_xla_fail(f, "dlmath_lse_softmax: float32 or float64 rows");
    dl_xla_advise(p, dt == DL_F64 ? 8 : 4);
    dl_job job = {body_lse_softmax,
                  {dt, (Py_ssize_t)x->data, K, K, 0, R, (Py_ssize_t)lse->data, dt, (Py_ssize_t)p->data, K},
                  {0}};
    return dl_xla_run(&job, R, K) == -2 ? dl_xla_fail(f, "dlmath_lse_softmax: out of memory") : NULL;
}

static dl_xla_error *dl_xla_normalise(dl_xla_frame *f, int log)
{
    DL_XLA_BEGIN(f, 1)
    const dl_xla_buffer *x = dl_xla_arg(f, 0), *out = dl_xla_ret(f, 0);
    dl_int R, K;
    int dt = dl_xla_matrix(x, &R, &K);
    double tau = dl_xla_f64_attr(f, "tau");
    if (dt < 0 || out->dtype != x->dtype || !(tau > 0 && tau < INFINITY))
        return dl_xla_fail(f, "dlmath_softmax: float32 or float64 rows and a float64 attribute tau > 0");
    double it = 1.0 / tau;
    dl_xla_advise(out, dt == DL_F64 ? 8 : 4);
    dl_job job = {body_softmax, {dt, (Py_ssize_t)x->data, K, K, 0, R, (Py_ssize_t)out->data, K, log}, {it}};
    return dl_xla_run(&job, R, K) == -2 ? dl_xla_fail(f, "dlmath_softmax: out of memory") : NULL;
}

static dl_xla_error *dl_xla_softmax(dl_xla_frame *f) { return dl_xla_normalise(f, 0); }
static dl_xla_error *dl_xla_log_softmax(dl_xla_frame *f) { return dl_xla_normalise(f, 1); }

/* The backward of softmax of x / tau from its output y and a cotangent g of y's shape:
 * y (g - y.g) / tau (rows_lse.h; also J g, as the softmax's Jacobian J is symmetric), or (mode 2)
 * the log-softmax's from the probabilities y = p: (g - p sum g) / tau. */
static dl_xla_error *dl_xla_normalise_bwd(dl_xla_frame *f, int mode)
{
    DL_XLA_BEGIN(f, 2)
    const dl_xla_buffer *y = dl_xla_arg(f, 0), *g = dl_xla_arg(f, 1), *out = dl_xla_ret(f, 0);
    dl_int R, K, Rg, Kg;
    int dt = dl_xla_matrix(y, &R, &K);
    double tau = dl_xla_f64_attr(f, "tau");
    if (dt < 0 || g->dtype != y->dtype || out->dtype != y->dtype || dl_xla_matrix(g, &Rg, &Kg) < 0 || Rg != R ||
        Kg != K || !(tau > 0 && tau < INFINITY))
        return dl_xla_fail(f, "dlmath_softmax_bwd: float32 or float64 rows of one shape and a float64 attribute tau > 0");
    dl_xla_advise(out, dt == DL_F64 ? 8 : 4);
    dl_job job = {body_softmax_bwd,
                  {dt, (Py_ssize_t)y->data, K, K, (Py_ssize_t)g->data, K, 0, R, (Py_ssize_t)out->data, K, mode},
                  {1.0 / tau}};
    return dl_xla_run(&job, R, K) == -2 ? dl_xla_fail(f, "dlmath_softmax_bwd: out of memory") : NULL;
}

static dl_xla_error *dl_xla_softmax_bwd(dl_xla_frame *f) { return dl_xla_normalise_bwd(f, 0); }
static dl_xla_error *dl_xla_log_softmax_bwd_p(dl_xla_frame *f) { return dl_xla_normalise_bwd(f, 2); }


/* Cross-entropy against class indices: its loss (mode 0), its gradient (mode 1), or both from one
 * pass over the logits (mode 2: results loss, gradient). The kernels stop at a row whose index is
 * out of range (nothing is read out of bounds); then the rows are done one by one, the bad ones NaN. */
static dl_xla_error *dl_xla_xent(dl_xla_frame *f, int mode)
{
    DL_XLA_BEGIN_N(f, 2, mode == 2 ? 2 : 1)
    const dl_xla_buffer *z = dl_xla_arg(f, 0), *t = dl_xla_arg(f, 1);
    const dl_xla_buffer *loss = mode != 1 ? dl_xla_ret(f, 0) : NULL, *grad = mode ? dl_xla_ret(f, mode == 2) : NULL;
    dl_int R, K;
    int dt = dl_xla_matrix(z, &R, &K), tc = dl_xla_index_code(t);
    if (dt < 0 || tc < 0 || (loss && loss->dtype != z->dtype) || (grad && grad->dtype != z->dtype))
        return dl_xla_fail(f, "dlmath_xent: float32 or float64 rows and int32 or int64 class indices");
    if (t->rank + 1 != z->rank) return dl_xla_fail(f, "dlmath_xent: one class index per row");
    if (grad) dl_xla_advise(grad, dt == DL_F64 ? 8 : 4);
    dl_job job = {grad ? body_xent_grad_index : body_xent_index, {0}, {1.0}};
    Py_ssize_t z0 = (Py_ssize_t)z->data, t0 = (Py_ssize_t)t->data;
    Py_ssize_t l0 = loss ? (Py_ssize_t)loss->data : 0, g0 = grad ? (Py_ssize_t)grad->data : 0;
    if (grad) {
        Py_ssize_t a[] = {dt, z0, K, K, t0, tc, 0, R, g0, K, l0, 0, dt};
        memcpy(job.a, a, sizeof a);
    } else {
        Py_ssize_t a[] = {dt, z0, K, K, t0, tc, 0, R, l0, 0, dt};
        memcpy(job.a, a, sizeof a);
    }
    dl_int rc = dl_xla_run(&job, R, K);
    if (rc == -2) return dl_xla_fail(f, "dlmath_xent: out of memory");
    if (rc < 0) return NULL;
    for (dl_int i = 0; i < R; i++) {
        long long k = tc == DL_I64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
        if (k >= 0 && k < (long long)K) {
            if (job.body(&job, i, i + 1) == -2) return dl_xla_fail(f, "dlmath_xent: out of memory");
            continue;
        }
        for (int which = 0; which < 2; which++) {
            const dl_xla_buffer *b = which ? grad : loss;
            if (!b) continue;
            dl_int n = which ? K : 1;
            for (dl_int j = 0; j < n; j++) {
                if (dt == DL_F64) ((double *)b->data)[i * n + j] = NAN;
                else ((float *)b->data)[i * n + j] = NAN;
            }
        }
    }
    return NULL;
}

static dl_xla_error *dl_xla_xent_index(dl_xla_frame *f) { return dl_xla_xent(f, 0); }
static dl_xla_error *dl_xla_xent_grad_index(dl_xla_frame *f) { return dl_xla_xent(f, 1); }
static dl_xla_error *dl_xla_xent_loss_grad_index(dl_xla_frame *f) { return dl_xla_xent(f, 2); }

#endif
