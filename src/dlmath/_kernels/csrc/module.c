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
#include <stdint.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "rows.h"
#include "pool.h"

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
/* the optional last argument of a row kernel: the most threads it may run on (the calling one
 * included); dl_split decides how many it takes */
static Py_ssize_t dl_threads;

static int dl_args(PyObject *const *args, Py_ssize_t nargs, const char *fmt, void **out)
{
    int rows = fmt[0] == 'r';
    if (rows) fmt++;
    Py_ssize_t n = (Py_ssize_t)strlen(fmt);
    dl_threads = 1;
    if (rows && nargs == n + 1) {
        dl_threads = PyLong_AsSsize_t(args[n]);
        if (dl_threads == -1 && PyErr_Occurred()) return -1;
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

/* How a call over R rows of K elements is split, for every caller (Python and XLA): on the
 * calling thread alone below 2^17 elements, else on up to `threads` threads (no more than rows),
 * each claiming chunks of rows: at least 8 chunks per thread, at most about 2^14 elements in a
 * chunk (one row at least). Returns the thread count and sets *chunk. */
static int dl_split(dl_int R, dl_int K, int threads, dl_int *chunk)
{
    int n = threads < R ? threads : (int)R;
    *chunk = R > 1 ? R : 1;
    if (R * K < ((dl_int)1 << 17) || n <= 1) return 1;
    dl_int per = (R + (dl_int)n * 8 - 1) / ((dl_int)n * 8), cap = ((dl_int)1 << 14) / (K > 0 ? K : 1);
    *chunk = per < cap ? per : cap;
    if (*chunk < 1) *chunk = 1;
    return n;
}

/* A row kernel over rows [r0, r1): on the calling thread, or (split by dl_split) on the native
 * pool (pool.h), which hands out chunks of rows. Every row is computed whole by one thread, so the
 * bits do not depend on who took it. The first bad row (the smallest) or -2 (no memory) wins. The
 * GIL is released for any work of size. */
static PyObject *dl_rows(dl_job *job, dl_int r0, dl_int r1, dl_int K)
{
    dl_int rc, chunk;
    int threads = dl_split(r1 - r0, K, (int)dl_threads, &chunk);
    if (threads > 1 || (r1 - r0) * K > 16384) {
        Py_BEGIN_ALLOW_THREADS rc = dl_pool_run(job, r0, r1, chunk, threads);
        Py_END_ALLOW_THREADS
    } else
        rc = job->body(job, r0, r1);
    return dl_result(rc);
}
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

/* A row kernel's arguments parsed into its job, in the order of the format: the floats ('d') into
 * job->d, everything else into job->a. */
static int dl_job_args(PyObject *const *args, Py_ssize_t nargs, const char *fmt, dl_job *job)
{
    void *ptrs[24];
    int ni = 0, nd = 0, k = 0;
    for (const char *f = fmt[0] == 'r' ? fmt + 1 : fmt; *f; f++)
        ptrs[k++] = *f == 'd' ? (void *)&job->d[nd++] : (void *)&job->a[ni++];
    return dl_args(args, nargs, fmt, ptrs);
}

/* Each row kernel: a body (the kernel over rows lo..hi-1, with the job's arguments: J(i) the i-th
 * int or address, D(i) the i-th float, as the format lists them) and its Python wrapper. */
#define J(i) (j->a[i])
#define D(i) (j->d[i])
#define DL_ROW_KERNEL(name, fmt, r0, r1, CALL)                                                              \
    static dl_int body_##name(const dl_job *j, dl_int lo, dl_int hi) { return (CALL); }                    \
    static PyObject *py_##name(PyObject *self, PyObject *const *a, Py_ssize_t na)                           \
    {                                                                                                        \
        dl_job job = {body_##name, {0}, {0}};                                                                \
        if (dl_job_args(a, na, fmt, &job)) return NULL;                                                      \
        return dl_rows(&job, job.a[r0], job.a[r1], job.a[2]);                                                \
    }

DL_ROW_KERNEL(lse_state, "rnpnnnnww", 4, 5,
              dl_k->lse_state((int)J(0), DL_P(J(1)), J(2), J(3), lo, hi, DL_P(J(6)), DL_P(J(7))))
DL_ROW_KERNEL(lse, "rnpnnnnwn", 4, 5, dl_k->lse((int)J(0), DL_P(J(1)), J(2), J(3), lo, hi, DL_P(J(6)), (int)J(7)))
DL_ROW_KERNEL(softmax, "rnpnnnnwndn", 4, 5,
              dl_k->softmax((int)J(0), DL_P(J(1)), J(2), J(3), lo, hi, DL_P(J(6)), J(7), D(0), (int)J(8)))
DL_ROW_KERNEL(xent_index, "rnpnnpnnnwwn", 6, 7,
              dl_k->xent_index((int)J(0), DL_P(J(1)), J(2), J(3), DL_P(J(4)), (int)J(5), lo, hi, DL_P(J(8)),
                               DL_P(J(9)), (int)J(10)))
DL_ROW_KERNEL(xent_prob, "rnpnnpnnnwwn", 6, 7,
              dl_k->xent_prob((int)J(0), DL_P(J(1)), J(2), J(3), DL_P(J(4)), J(5), lo, hi, DL_P(J(8)), DL_P(J(9)),
                              (int)J(10)))
DL_ROW_KERNEL(xent_grad_index, "rnpnnpnnndwnwwn", 6, 7,
              dl_k->xent_grad_index((int)J(0), DL_P(J(1)), J(2), J(3), DL_P(J(4)), (int)J(5), lo, hi, D(0),
                                    DL_P(J(8)), J(9), DL_P(J(10)), DL_P(J(11)), (int)J(12)))
DL_ROW_KERNEL(xent_grad_prob, "rnpnnpnnndwnwwn", 6, 7,
              dl_k->xent_grad_prob((int)J(0), DL_P(J(1)), J(2), J(3), DL_P(J(4)), J(5), lo, hi, D(0), DL_P(J(8)),
                                   J(9), DL_P(J(10)), DL_P(J(11)), (int)J(12)))
DL_ROW_KERNEL(hvp, "rnpnnpnnnwn", 6, 7,
              dl_k->hvp((int)J(0), DL_P(J(1)), J(2), J(3), DL_P(J(4)), J(5), lo, hi, DL_P(J(8)), J(9)))
DL_ROW_KERNEL(lse_softmax, "rnpnnnnwnwn", 4, 5,
              dl_k->lse_softmax((int)J(0), DL_P(J(1)), J(2), J(3), lo, hi, DL_P(J(6)), (int)J(7), DL_P(J(8)), J(9)))
DL_ROW_KERNEL(softmax_bwd, "rnpnnpnnnwndn", 6, 7,
              dl_k->softmax_bwd((int)J(0), DL_P(J(1)), J(2), J(3), DL_P(J(4)), J(5), lo, hi, DL_P(J(8)), J(9), D(0),
                                (int)J(10)))

/* Writing a large buffer that was just allocated (untouched memory) faults it in one 4 KiB page at
 * a time, which at hundreds of MB costs as much as the kernel that fills it. Asking for transparent
 * huge pages over its 2 MiB-aligned part (advice only: the OS may decline, and nothing else
 * changes) makes that 512 times fewer faults. */
static void dl_advise_huge(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const size_t huge = (size_t)2 << 20;
    if (n < 4 * huge) return;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(huge - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* advise_huge(addr, nbytes): dl_advise_huge on a buffer the caller has just allocated */
static PyObject *py_advise_huge(PyObject *self, PyObject *const *a, Py_ssize_t na)
{
    Py_ssize_t p, n;
    if (dl_args(a, na, "wn", (void *[]){&p, &n})) return NULL;
    if (n > 0) dl_advise_huge(DL_P(p), (size_t)n);
    Py_RETURN_NONE;
}

#include "xla_ffi.h"

/* xla_handlers(threads): the XLA custom-call handlers (xla_ffi.h) as a dict of name -> PyCapsule,
 * for jax.ffi.register_ffi_target; threads: how many threads a call may use. */
static PyObject *py_xla_handlers(PyObject *self, PyObject *threads)
{
    long n = PyLong_AsLong(threads);
    if (n == -1 && PyErr_Occurred()) return NULL;
    dl_xla_threads = n < 1 ? 1 : (int)n;
    struct {
        const char *name;
        dl_xla_error *(*fn)(dl_xla_frame *);
    } hs[] = {{"dlmath_lse", dl_xla_lse},
              {"dlmath_lse_softmax", dl_xla_lse_softmax},
              {"dlmath_softmax", dl_xla_softmax},
              {"dlmath_log_softmax", dl_xla_log_softmax},
              {"dlmath_softmax_bwd", dl_xla_softmax_bwd},
              {"dlmath_log_softmax_bwd_p", dl_xla_log_softmax_bwd_p},
              {"dlmath_xent_index", dl_xla_xent_index},
              {"dlmath_xent_grad_index", dl_xla_xent_grad_index},
              {"dlmath_xent_loss_grad_index", dl_xla_xent_loss_grad_index}};
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        PyObject *c = PyCapsule_New((void *)hs[i].fn, NULL, NULL);
        if (!c || PyDict_SetItemString(d, hs[i].name, c) < 0) {
            Py_XDECREF(c);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(c);
    }
    return d;
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

/* set_linger(us): how long a pool thread that has finished spins for the next call before it
 * sleeps; returns the previous value. pool_threads(): the pool's threads started so far. */
static PyObject *py_set_linger(PyObject *self, PyObject *us)
{
    long v = PyLong_AsLong(us);
    if (v == -1 && PyErr_Occurred()) return NULL;
    if (v < 0) return PyErr_Format(PyExc_ValueError, "linger must be at least 0 us, not %ld", v);
    return PyLong_FromLong(__atomic_exchange_n(&dl_linger_us, v, __ATOMIC_SEQ_CST));
}

static PyObject *py_pool_threads(PyObject *self, PyObject *unused) { return PyLong_FromLong(dl_pool_threads()); }

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
    DL_FAST(xent_grad_prob), DL_FAST(hvp),   DL_FAST(softmax_bwd), DL_FAST(lse_softmax), DL_FAST(merge),      DL_FAST(spin_while),
    DL_FAST(advise_huge),
    {"isa", py_isa, METH_NOARGS, "the instruction set in use"},
    {"xla_handlers", py_xla_handlers, METH_O, "the XLA custom-call handlers, name -> PyCapsule"},
    {"set_linger", py_set_linger, METH_O, "microseconds a pool thread spins for the next call; returns the old"},
    {"pool_threads", py_pool_threads, METH_NOARGS, "the native pool's threads started so far"},
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
