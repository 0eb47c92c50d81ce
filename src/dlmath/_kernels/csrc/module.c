/* dlmath._kernels._native: the Python face of the row kernels (see rows.h).
 *
 * Every function takes plain ints: addresses (arr.__array_interface__['data'][0], tensor.data_ptr(),
 * or any object with the buffer protocol, whose first element is meant; 0 for an optional output
 * left out), sizes, strides in elements and dtype codes, and releases the GIL while it works. The instruction set is the best one this CPU and OS support (__builtin_cpu_supports),
 * unless set_isa() chose a lower one. Addresses are trusted: the Python wrappers check shapes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <time.h>

#include "rows.h"

static const dl_kernels *dl_tables[3];
static int dl_ntables;
static const dl_kernels *dl_k;

static int dl_cpu_has(const char *isa)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!strcmp(isa, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    if (!strcmp(isa, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
    (void)isa;
    return 0;
}

/* merge (m_i, r_i), i < n, of each row: the largest m (its first occurrence) keeps its r, the others
 * add (1 + r_i) e^{m_i - m}, in order, with Neumaier's compensation */
void dl_merge_states(const double *m, const double *r, dl_int rows, dl_int n, double *mo, double *ro)
{
    for (dl_int j = 0; j < rows; j++) {
        const double *mj = m + j * n, *rj = r + j * n;
        dl_int top = 0;
        int nan = 0;
        for (dl_int i = 0; i < n; i++) {
            nan |= mj[i] != mj[i];
            if (mj[i] > mj[top]) top = i;
        }
        double M = n ? mj[top] : -INFINITY;
        if (nan || !(M > -INFINITY && M < INFINITY)) {
            mo[j] = nan ? NAN : M;
            ro[j] = 0.0;
            continue;
        }
        double s = rj[top], comp = 0.0;
        for (dl_int i = 0; i < n; i++) {
            if (i == top || mj[i] == -INFINITY) continue;
            double v = (1.0 + rj[i]) * exp(mj[i] - M), t = s + v;
            comp += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
            s = t;
        }
        mo[j] = M;
        ro[j] = s + comp;
    }
}

/* ------------------------------------------------------------------ argument parsing */

/* An address: an int (0 for none), or an object with the buffer protocol (its first element's
 * address; 'w' asks for a writable one). The caller keeps the object alive during the call. */
static int dl_addr(PyObject *o, int writable, Py_ssize_t *out)
{
    if (PyLong_Check(o)) {
        *out = PyLong_AsSsize_t(o);
        return *out == -1 && PyErr_Occurred() ? -1 : 0;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(o, &view, writable ? PyBUF_STRIDED : PyBUF_STRIDED_RO) < 0) return -1;
    *out = (Py_ssize_t)view.buf;
    PyBuffer_Release(&view);
    return 0;
}

/* fmt: 'n' an int, 'd' a float, 'p' a read address, 'w' a written address */
/* the optional last two arguments of a row kernel: a shared int64 row counter and a chunk size */
static Py_ssize_t dl_counter, dl_chunk;

static int dl_args(PyObject *const *args, Py_ssize_t nargs, const char *fmt, void **out)
{
    int rows = fmt[0] == 'r';
    if (rows) fmt++;
    Py_ssize_t n = (Py_ssize_t)strlen(fmt);
    dl_counter = 0;
    dl_chunk = 0;
    if (rows && nargs == n + 2) {
        if (dl_addr(args[n], 1, &dl_counter)) return -1;
        dl_chunk = PyLong_AsSsize_t(args[n + 1]);
        if (dl_chunk == -1 && PyErr_Occurred()) return -1;
        if (dl_chunk < 1) dl_chunk = 1;
        nargs = n;
    }
    if (nargs != n) {
        PyErr_Format(PyExc_TypeError, "expected %zd arguments, got %zd", n, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (fmt[i] == 'p' || fmt[i] == 'w') {
            if (dl_addr(args[i], fmt[i] == 'w', (Py_ssize_t *)out[i])) return -1;
        } else if (fmt[i] == 'd') {
            double v = PyFloat_AsDouble(args[i]);
            if (v == -1.0 && PyErr_Occurred()) return -1;
            *(double *)out[i] = v;
        } else {
            Py_ssize_t v = PyLong_AsSsize_t(args[i]);
            if (v == -1 && PyErr_Occurred()) return -1;
            *(Py_ssize_t *)out[i] = v;
        }
    }
    return 0;
}

static PyObject *dl_result(dl_int rc)
{
    if (rc == -2) return PyErr_NoMemory();
    return PyLong_FromSsize_t((Py_ssize_t)rc);
}

#define DL_P(v) ((void *)(v))

/* A row kernel over rows [r0, r1): at once, or (with a counter) in chunks claimed from the shared
 * counter until it passes r1, so that the threads of one call never come back for the GIL between
 * chunks. Every row is computed whole by one call, so the bits do not depend on who took it.
 * EXPR uses lo and hi. The first bad row (the smallest) or -2 (no memory) wins. */
#define DL_ROWS(work, EXPR)                                                                                 \
    dl_int rc_ = -1;                                                                                         \
    long long *ctr_ = (long long *)dl_counter;                                                               \
    dl_int chunk_ = dl_chunk;                                                                                \
    int nogil_ = ctr_ != NULL || (work) > 16384;                                                             \
    PyThreadState *ts_ = nogil_ ? PyEval_SaveThread() : NULL;                                                \
    if (!ctr_) {                                                                                             \
        dl_int lo = r0, hi = r1;                                                                             \
        rc_ = (EXPR);                                                                                        \
    } else {                                                                                                 \
        for (;;) {                                                                                           \
            dl_int lo = (dl_int)__atomic_fetch_add(ctr_, (long long)chunk_, __ATOMIC_RELAXED);              \
            if (lo >= r1) break;                                                                             \
            dl_int hi = lo + chunk_ < r1 ? lo + chunk_ : r1;                                                 \
            dl_int got = (EXPR);                                                                             \
            if (got == -2 || (got >= 0 && (rc_ < 0 || got < rc_))) rc_ = rc_ == -2 ? rc_ : got;              \
        }                                                                                                    \
    }                                                                                                        \
    if (ts_) PyEval_RestoreThread(ts_);                                                                      \
    return dl_result(rc_);
#define DL_NOGIL(work, expr)                                                                                 \
    dl_int rc_;                                                                                              \
    if ((work) > 16384) {                                                                                    \
        Py_BEGIN_ALLOW_THREADS rc_ = (expr);                                                                 \
        Py_END_ALLOW_THREADS                                                                                 \
    } else                                                                                                   \
        rc_ = (expr);                                                                                        \
    return dl_result(rc_);

static PyObject *py_vexp(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, o, n;
    if (dl_args(a, na, "npwn", (void *[]){&dt, &x, &o, &n})) return NULL;
    DL_NOGIL(n, dl_k->vexp((int)dt, DL_P(x), DL_P(o), n))
}

static PyObject *py_vlog1p(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t x, o, n;
    if (dl_args(a, na, "pwn", (void *[]){&x, &o, &n})) return NULL;
    DL_NOGIL(n, dl_k->vlog1p(DL_P(x), DL_P(o), n))
}

static PyObject *py_lse_state(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, K, ldx, r0, r1, m, r;
    if (dl_args(a, na, "rnpnnnnww", (void *[]){&dt, &x, &K, &ldx, &r0, &r1, &m, &r})) return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->lse_state((int)dt, DL_P(x), K, ldx, lo, hi, DL_P(m), DL_P(r)))
}

static PyObject *py_lse(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, K, ldx, r0, r1, o, odt;
    if (dl_args(a, na, "rnpnnnnwn", (void *[]){&dt, &x, &K, &ldx, &r0, &r1, &o, &odt})) return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->lse((int)dt, DL_P(x), K, ldx, lo, hi, DL_P(o), (int)odt))
}

static PyObject *py_softmax(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, K, ldx, r0, r1, o, ldo, log;
    double it;
    if (dl_args(a, na, "rnpnnnnwndn", (void *[]){&dt, &x, &K, &ldx, &r0, &r1, &o, &ldo, &it, &log})) return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->softmax((int)dt, DL_P(x), K, ldx, lo, hi, DL_P(o), ldo, it, (int)log))
}

static PyObject *py_xent_index(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, K, ldx, t, tc, r0, r1, loss, lse, odt;
    if (dl_args(a, na, "rnpnnpnnnwwn", (void *[]){&dt, &x, &K, &ldx, &t, &tc, &r0, &r1, &loss, &lse, &odt}))
        return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->xent_index((int)dt, DL_P(x), K, ldx, DL_P(t), (int)tc, lo, hi, DL_P(loss),
                                             DL_P(lse), (int)odt))
}

static PyObject *py_xent_prob(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, K, ldx, y, ldy, r0, r1, loss, lse, odt;
    if (dl_args(a, na, "rnpnnpnnnwwn", (void *[]){&dt, &x, &K, &ldx, &y, &ldy, &r0, &r1, &loss, &lse, &odt}))
        return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->xent_prob((int)dt, DL_P(x), K, ldx, DL_P(y), ldy, lo, hi, DL_P(loss), DL_P(lse),
                                            (int)odt))
}

static PyObject *py_xent_grad_index(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, K, ldx, t, tc, r0, r1, o, ldo, loss, lse, odt;
    double scale;
    if (dl_args(a, na, "rnpnnpnnndwnwwn",
                (void *[]){&dt, &x, &K, &ldx, &t, &tc, &r0, &r1, &scale, &o, &ldo, &loss, &lse, &odt}))
        return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->xent_grad_index((int)dt, DL_P(x), K, ldx, DL_P(t), (int)tc, lo, hi, scale,
                                                  DL_P(o), ldo, DL_P(loss), DL_P(lse), (int)odt))
}

static PyObject *py_xent_grad_prob(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, x, K, ldx, y, ldy, r0, r1, o, ldo, loss, lse, odt;
    double scale;
    if (dl_args(a, na, "rnpnnpnnndwnwwn",
                (void *[]){&dt, &x, &K, &ldx, &y, &ldy, &r0, &r1, &scale, &o, &ldo, &loss, &lse, &odt}))
        return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->xent_grad_prob((int)dt, DL_P(x), K, ldx, DL_P(y), ldy, lo, hi, scale, DL_P(o),
                                                 ldo, DL_P(loss), DL_P(lse), (int)odt))
}

static PyObject *py_hvp(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t dt, z, K, ldz, v, ldv, r0, r1, o, ldo;
    if (dl_args(a, na, "rnpnnpnnnwn", (void *[]){&dt, &z, &K, &ldz, &v, &ldv, &r0, &r1, &o, &ldo})) return NULL;
    DL_ROWS((r1 - r0) * K, dl_k->hvp((int)dt, DL_P(z), K, ldz, DL_P(v), ldv, lo, hi, DL_P(o), ldo))
}

static PyObject *py_merge(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t m, r, rows, n, mo, ro;
    if (dl_args(a, na, "ppnnww", (void *[]){&m, &r, &rows, &n, &mo, &ro})) return NULL;
    Py_BEGIN_ALLOW_THREADS dl_merge_states(DL_P(m), DL_P(r), rows, n, DL_P(mo), DL_P(ro));
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

/* spin_while(counter, value, us): wait, with the GIL released, until the int64 at counter no longer
 * holds value or us microseconds have passed; True if it changed. The thread pool's helpers wait
 * for the next call this way for a moment instead of sleeping, which costs tens of us to undo. */
static PyObject *py_spin_while(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t p, value, us;
    if (dl_args(a, na, "pnn", (void *[]){&p, &value, &us})) return NULL;
    volatile const long long *c = (volatile const long long *)p;
    int changed = 0;
    Py_BEGIN_ALLOW_THREADS;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long spins = 0;; spins++) {
        if (*c != (long long)value) {
            changed = 1;
            break;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if ((spins & 63) == 63) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 >= us) break;
        }
    }
    Py_END_ALLOW_THREADS;
    return PyBool_FromLong(changed);
}

static PyObject *py_isa(PyObject *self, PyObject *unused) { return PyUnicode_FromString(dl_k->isa); }

static PyObject *py_isas(PyObject *self, PyObject *unused)
{
    PyObject *t = PyTuple_New(dl_ntables);
    if (!t) return NULL;
    for (int i = 0; i < dl_ntables; i++) PyTuple_SET_ITEM(t, i, PyUnicode_FromString(dl_tables[i]->isa));
    return t;
}

static PyObject *py_set_isa(PyObject *self, PyObject *name)
{
    const char *s = PyUnicode_AsUTF8(name);
    if (!s) return NULL;
    for (int i = 0; i < dl_ntables; i++)
        if (!strcmp(dl_tables[i]->isa, s)) {
            PyObject *prev = PyUnicode_FromString(dl_k->isa);
            dl_k = dl_tables[i];
            return prev;
        }
    return PyErr_Format(PyExc_ValueError, "instruction set %R is not available on this CPU", name);
}

#define DL_FAST(name) {#name, (PyCFunction)(void (*)(void))py_##name, METH_FASTCALL, NULL}
static PyMethodDef dl_methods[] = {
    DL_FAST(vexp),       DL_FAST(vlog1p),    DL_FAST(lse_state),      DL_FAST(lse),
    DL_FAST(softmax),    DL_FAST(xent_index), DL_FAST(xent_prob),     DL_FAST(xent_grad_index),
    DL_FAST(xent_grad_prob), DL_FAST(hvp),   DL_FAST(merge),      DL_FAST(spin_while),
    {"isa", py_isa, METH_NOARGS, "the instruction set in use"},
    {"isas", py_isas, METH_NOARGS, "the instruction sets this CPU runs, best first"},
    {"set_isa", py_set_isa, METH_O, "use the named instruction set; returns the previous one"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef dl_module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, dl_methods};

PyMODINIT_FUNC PyInit__native(void)
{
#ifdef DL_HAVE_AVX512
    if (dl_cpu_has("avx512")) dl_tables[dl_ntables++] = &dl_kernels_avx512;
#endif
#ifdef DL_HAVE_AVX2
    if (dl_cpu_has("avx2")) dl_tables[dl_ntables++] = &dl_kernels_avx2;
#endif
    dl_tables[dl_ntables++] = &dl_kernels_baseline;
    dl_k = dl_tables[0];
    return PyModule_Create(&dl_module);
}
