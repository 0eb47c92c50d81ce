/* The native thread pool behind the row kernels (included by module.c once).
 *
 * One call runs a kernel over rows [r0, r1) on the calling thread and up to n - 1 pool threads.
 * Every participant claims chunks of rows from a shared counter until none are left; each row is
 * computed whole by one participant, so the bits never depend on the thread count or on timing.
 * The pool's threads are plain C threads that never touch Python: a Python thread pool pays for a
 * GIL hand-over on every call (a futex wake, 20-50 us on a virtual machine, a large part of a
 * 200 us call), these only wait on a generation counter.
 *
 * A thread that finishes waits dl_linger_us for the next call spinning (a busy core), then sleeps
 * on a condition variable; a sleeping thread costs the caller nothing but parallelism, as the
 * caller starts at once and the late thread takes whatever chunks are left.
 *
 * Publishing a call: the job, the row counter, the slot count and the done count are written
 * before `joined` is reset and `gen` bumped (sequentially consistent atomics throughout). A thread
 * joins by taking a slot (fetch-add on `joined`); the caller closes the call by exchanging `joined`
 * for a large value, which gives the number of threads that joined, and waits until that many have
 * finished. A thread that arrives after the close gets no slot.
 *
 * Without POSIX threads (MSVC), everything runs on the calling thread.
 */
#ifndef DL_POOL_H
#define DL_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rows.h"

typedef struct dl_job dl_job;
typedef dl_int (*dl_body)(const dl_job *job, dl_int lo, dl_int hi);
struct dl_job {
    dl_body body;
    Py_ssize_t a[16]; /* the kernel's ints and addresses, in the order of its wrapper's format */
    double d[2];      /* its floats */
};

/* the first bad row (the smallest) wins; -2 (no memory) wins over everything */
static dl_int dl_merge_rc(dl_int a, dl_int b)
{
    if (a == -2 || b == -2) return -2;
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

static dl_int dl_claim_loop(const dl_job *job, long long *next, dl_int r1, dl_int chunk)
{
    dl_int rc = -1;
    for (;;) {
        dl_int lo = (dl_int)__atomic_fetch_add(next, (long long)chunk, __ATOMIC_SEQ_CST);
        if (lo >= r1) break;
        dl_int hi = lo + chunk < r1 ? lo + chunk : r1;
        rc = dl_merge_rc(rc, job->body(job, lo, hi));
    }
    return rc;
}

static inline void dl_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long dl_elapsed_us(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)((t.tv_sec - t0->tv_sec) * 1000000L + (t.tv_nsec - t0->tv_nsec) / 1000);
}

static long dl_linger_us = 100;

#if defined(_WIN32) || !defined(__GNUC__)

static dl_int dl_pool_run(const dl_job *job, dl_int r0, dl_int r1, dl_int chunk, int threads)
{
    (void)chunk;
    (void)threads;
    return job->body(job, r0, r1);
}
static int dl_pool_threads(void) { return 0; }

#else

#include <pthread.h>

#define DL_MAX_THREADS 64
#define DL_CLOSED (1LL << 40)

static struct {
    pthread_mutex_t mu; /* with cv: sleeping threads */
    pthread_cond_t cv;
    pthread_mutex_t call; /* one call at a time uses the pool; others run alone */
    int started;
    int sleepers;
    long long gen;
    const dl_job *job;
    long long next;
    dl_int r1, chunk;
    long long slots;
    long long joined;
    int done;
    dl_int rc[DL_MAX_THREADS];
} dl_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static void *dl_worker(void *arg)
{
    long long seen = (long long)(intptr_t)arg;
    for (;;) {
        long long g;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long spins = 0;; spins++) {
            g = __atomic_load_n(&dl_pool.gen, __ATOMIC_SEQ_CST);
            if (g != seen) break;
            dl_pause();
            if ((spins & 63) == 63 && dl_elapsed_us(&t0) >= __atomic_load_n(&dl_linger_us, __ATOMIC_RELAXED)) {
                pthread_mutex_lock(&dl_pool.mu);
                __atomic_add_fetch(&dl_pool.sleepers, 1, __ATOMIC_SEQ_CST);
                while ((g = __atomic_load_n(&dl_pool.gen, __ATOMIC_SEQ_CST)) == seen)
                    pthread_cond_wait(&dl_pool.cv, &dl_pool.mu);
                __atomic_sub_fetch(&dl_pool.sleepers, 1, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&dl_pool.mu);
                break;
            }
        }
        seen = g;
        long long slot = __atomic_fetch_add(&dl_pool.joined, 1, __ATOMIC_SEQ_CST);
        if (slot >= __atomic_load_n(&dl_pool.slots, __ATOMIC_SEQ_CST)) continue;
        const dl_job *job = __atomic_load_n(&dl_pool.job, __ATOMIC_SEQ_CST);
        dl_pool.rc[slot] = dl_claim_loop(job, &dl_pool.next, dl_pool.r1, dl_pool.chunk);
        __atomic_add_fetch(&dl_pool.done, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void dl_pool_after_fork(void)
{
    /* the child has none of the parent's threads; whatever they held is gone with them */
    pthread_mutex_init(&dl_pool.mu, NULL);
    pthread_cond_init(&dl_pool.cv, NULL);
    pthread_mutex_init(&dl_pool.call, NULL);
    dl_pool.started = 0;
    dl_pool.sleepers = 0;
}

static int dl_pool_threads(void) { return dl_pool.started; }

/* Runs job over rows [r0, r1) on the calling thread and up to threads - 1 pool threads. */
static dl_int dl_pool_run(const dl_job *job, dl_int r0, dl_int r1, dl_int chunk, int threads)
{
    if (threads > DL_MAX_THREADS + 1) threads = DL_MAX_THREADS + 1;
    if (threads <= 1 || r1 - r0 <= chunk || pthread_mutex_trylock(&dl_pool.call) != 0)
        return job->body(job, r0, r1);
    static int hooked;
    if (!hooked) {
        pthread_atfork(NULL, NULL, dl_pool_after_fork);
        hooked = 1;
    }
    long long gen = __atomic_load_n(&dl_pool.gen, __ATOMIC_SEQ_CST);
    while (dl_pool.started < threads - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int bad = pthread_create(&t, &attr, dl_worker, (void *)(intptr_t)gen);
        pthread_attr_destroy(&attr);
        if (bad) break;
        dl_pool.started++;
    }
    long long slots = threads - 1 < dl_pool.started ? threads - 1 : dl_pool.started;
    dl_pool.r1 = r1;
    dl_pool.chunk = chunk;
    __atomic_store_n(&dl_pool.job, job, __ATOMIC_SEQ_CST);
    __atomic_store_n(&dl_pool.next, (long long)r0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&dl_pool.slots, slots, __ATOMIC_SEQ_CST);
    __atomic_store_n(&dl_pool.done, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&dl_pool.joined, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&dl_pool.gen, gen + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&dl_pool.sleepers, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&dl_pool.mu);
        pthread_cond_broadcast(&dl_pool.cv);
        pthread_mutex_unlock(&dl_pool.mu);
    }
    dl_int rc = dl_claim_loop(job, &dl_pool.next, r1, chunk);
    long long joined = __atomic_exchange_n(&dl_pool.joined, DL_CLOSED, __ATOMIC_SEQ_CST);
    int n = (int)(joined < slots ? joined : slots);
    while (__atomic_load_n(&dl_pool.done, __ATOMIC_SEQ_CST) < n) dl_pause();
    for (int i = 0; i < n; i++) rc = dl_merge_rc(rc, dl_pool.rc[i]);
    pthread_mutex_unlock(&dl_pool.call);
    return rc;
}

#endif
#endif
