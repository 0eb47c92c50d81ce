/* The kernel table: one per instruction set (rows.c compiled once for each), chosen at import by
 * module.c. Every entry takes raw addresses, sizes and row strides (in elements) and a dtype code,
 * so it can serve NumPy arrays and torch CPU tensors alike without a copy.
 *
 * A matrix x has rows r = r0..r1-1 starting at x + r ldx, each K contiguous elements of dtype dt.
 * Per-row results (loss, lse) are written in the dtype odt (DL_F64 or dt). Entries return -1, or
 * -2 when scratch memory could not be had, or (cross-entropy) the first row whose class index is
 * out of range (checked before anything is read out of bounds) or whose weights are negative or not
 * finite.
 */
#ifndef DL_ROWS_H
#define DL_ROWS_H

#include <stddef.h>

typedef ptrdiff_t dl_int;

enum { DL_F64 = 0, DL_F32 = 1, DL_F16 = 2, DL_BF16 = 3, DL_F64_LITE = 4, DL_F64_NC = 5, DL_F64_LITE_NC = 6,
       DL_F64_FAST = 7, DL_F64_FAST_NC = 8, DL_F32_NC = 9 };
enum { DL_I64 = 0, DL_I32 = 1 };

typedef struct dl_kernels {
    const char *isa;
    dl_int (*vexp)(int dt, const void *x, void *out, dl_int n); /* dt DL_F64, DL_F32, or (for tests) the LITE, FAST and no-clamp (NC) forms */
    dl_int (*vlog1p)(const double *x, double *out, dl_int n);
    dl_int (*lse_state)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, double *m, double *r);
    dl_int (*lse)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, void *out, int odt);
    dl_int (*softmax)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, void *out, dl_int ldo,
                      double inv_tau, int log);
    dl_int (*xent_index)(int dt, const void *x, dl_int K, dl_int ldx, const void *t, int tcode, dl_int r0,
                         dl_int r1, void *loss, void *lse, int odt);
    dl_int (*xent_prob)(int dt, const void *x, dl_int K, dl_int ldx, const void *y, dl_int ldy, dl_int r0,
                        dl_int r1, void *loss, void *lse, int odt);
    dl_int (*xent_grad_index)(int dt, const void *x, dl_int K, dl_int ldx, const void *t, int tcode, dl_int r0,
                              dl_int r1, double scale, void *out, dl_int ldo, void *loss, void *lse, int odt);
    dl_int (*xent_grad_prob)(int dt, const void *x, dl_int K, dl_int ldx, const void *y, dl_int ldy, dl_int r0,
                             dl_int r1, double scale, void *out, dl_int ldo, void *loss, void *lse, int odt);
    dl_int (*hvp)(int dt, const void *z, dl_int K, dl_int ldz, const void *v, dl_int ldv, dl_int r0, dl_int r1,
                  void *out, dl_int ldo);
    /* the backward of softmax (log 0) or log-softmax (log 1) of x/tau from its output y, it = 1/tau */
    dl_int (*softmax_bwd)(int dt, const void *y, dl_int K, dl_int ldy, const void *g, dl_int ldg, dl_int r0,
                          dl_int r1, void *out, dl_int ldo, double it, int log);
    /* the LSE of each row (in odt) and its softmax p (in out, dtype dt), from one pass where it can */
    dl_int (*lse_softmax)(int dt, const void *x, dl_int K, dl_int ldx, dl_int r0, dl_int r1, void *lse, int odt,
                          void *out, dl_int ldo);
} dl_kernels;

extern const dl_kernels dl_kernels_baseline;
#ifdef DL_HAVE_AVX2
extern const dl_kernels dl_kernels_avx2;
#endif
#ifdef DL_HAVE_AVX512
extern const dl_kernels dl_kernels_avx512;
#endif

/* merging partial states (m_i, r_i) of one reduction, in order (ISA-independent, in module.c) */
void dl_merge_states(const double *m, const double *r, dl_int rows, dl_int n, double *mo, double *ro);

#endif
