/* crossent: header-only C99 kernels (the single source of numerical truth).
 *
 * The hot kernels (cx_math.inc, cx_lse.inc, ...) are compiled once per ISA
 * level in this one header -- portable baseline, AVX2+FMA, AVX-512 -- with
 * per-function target attributes, and one of them is chosen at run time by a
 * CPU check (cx_select_isa) through a table of function pointers.  Wheels so
 * run on any x86-64 and still use the widest vectors the machine has;
 * CROSSENT_SIMD=baseline forces the portable path.  Results of the paths may
 * differ in the last ulp (FMA), never beyond the documented accuracy.
 *
 * No fast-math anywhere: inf, NaN and signed zeros keep their IEEE meaning.
 */
#ifndef CROSSENT_H
#define CROSSENT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define CX_INLINE static __forceinline
#else
#define CX_INLINE static inline __attribute__((always_inline))
#endif

#define CX_INFINITY ((double)INFINITY)
#define CX_NAN ((double)NAN)
#define CX_LOG2E 1.4426950408889634
#define CX_LN2_HI 0.6931471803691238      /* 0x3fe62e42fee00000: k * LN2_HI exact */
#define CX_LN2_LO 1.9082149292705877e-10
#define CX_ROUND_SHIFT 6755399441055744.0 /* 1.5 * 2^52: adding it rounds to an integer */

/* Blocking, fixed by the shape alone (never by the thread count), so that
 * every n_threads gives bitwise the same result. */
#define CX_BLOCK 2048  /* elements per block of a long row (16 KiB of doubles) */
#define CX_CHUNK 256   /* elements per partial sum inside a block */
#define CX_GROUP 64    /* blocks per group: the parallel unit of one long row */
#define CX_GROUP_LEN ((ptrdiff_t)CX_BLOCK * CX_GROUP)
#define CX_TILE_W 64   /* reductions side by side in the across-rows kernel */
#define CX_TILE_N 32   /* rows per slab of that kernel */
#define CX_COL_LEVELS 32 /* levels of its pairwise fold: up to 2^32 slabs */

static inline uint64_t cx_bits_f64(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static inline double cx_from_bits_f64(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

/* ---- partials of log-sum-exp (scalar, ISA-independent) ------------------ */

/* A row summarised: logsumexp = m + log1p(rest). */
typedef struct { double m; double rest; } cx_lse_acc;
/* Weighted: sum b exp(x) = exp(m) * (ones + rest). */
typedef struct { double m; double ones; double rest; } cx_lse_wacc;

static inline double cx_log1p(double x) { return log1p(x); }

/* The rounding error of d = a - b, so that a - b == d + error exactly
 * (Knuth's TwoSum; no FMA needed, and vectorisable). */
CX_INLINE double cx_sub_error(double a, double b, double d)
{
    double nb = -b;
    double bb = d - a;
    return (a - (d - bb)) + (nb - bb);
}

static inline cx_lse_acc cx_lse_combine(cx_lse_acc a, cx_lse_acc b)
{
    if (b.m > a.m) { cx_lse_acc t = a; a = b; b = t; }
    if (b.m == -CX_INFINITY)          /* nothing to add (rest is 0 or NaN) */
        a.rest += b.rest;
    else if (a.m == b.m)
        a.rest += 1.0 + b.rest;
    else
        a.rest += (1.0 + b.rest) * exp(b.m - a.m);
    return a;
}

static inline double cx_lse_value(cx_lse_acc a) { return a.m + log1p(a.rest); }

static inline cx_lse_wacc cx_lse_wcombine(cx_lse_wacc a, cx_lse_wacc b)
{
    if (b.m > a.m) { cx_lse_wacc t = a; a = b; b = t; }
    if (b.m == -CX_INFINITY) {
        a.rest += b.rest;
    } else if (a.m == b.m) {
        a.ones += b.ones;
        a.rest += b.rest;
    } else {
        a.rest += (b.ones + b.rest) * exp(b.m - a.m);
    }
    return a;
}

/* log |ones + rest| + m and the sign of the sum (-1, 0, +1). */
static inline double cx_lse_wvalue(cx_lse_wacc a, double *sign)
{
    double s = a.ones + a.rest;
    if (s != s || a.m != a.m) { *sign = CX_NAN; return CX_NAN; }
    if (a.m == CX_INFINITY && a.ones == 0.0) { *sign = CX_NAN; return CX_NAN; } /* inf - inf */
    if (s == 0.0 || a.m == -CX_INFINITY) { *sign = 0.0; return -CX_INFINITY; }
    *sign = s > 0.0 ? 1.0 : -1.0;
    double lg;
    if (a.ones != 0.0 && fabs(a.rest) < fabs(a.ones))
        lg = log(fabs(a.ones)) + log1p(a.rest / a.ones);
    else
        lg = log(fabs(s));
    return a.m + lg;
}

/* ---- the one pairwise combination ---------------------------------------
 * A binary counter over a stream of partials: each push adds a level of size
 * one, then the two top levels merge while their sizes are equal.  The tree so
 * depends on the number of partials alone (never on threads or timing) and
 * needs O(log n) space.  Each kind of partial keeps its items beside the
 * counter and names its combine:
 *     item[cx_count_push(&c)] = x;
 *     while (cx_count_merge(&c)) item[c.top - 1] = combine(item[c.top - 1], item[c.top]);
 * and its result folds the levels from the top: acc = item[top - 1], then
 * acc = combine(item[i], acc) for i = top - 2 down to 0. */
#define CX_COUNT_LEVELS 64
typedef struct {
    ptrdiff_t size[CX_COUNT_LEVELS];
    int top;
} cx_count;

static inline void cx_count_init(cx_count *c) { c->top = 0; }

/* A new level of size one; returns its index. */
static inline int cx_count_push(cx_count *c)
{
    c->size[c->top] = 1;
    return c->top++;
}

/* 1 when the two top levels have merged (the caller combines item[top - 1] and
 * item[top] into item[top - 1]); 0 when nothing is left to merge. */
static inline int cx_count_merge(cx_count *c)
{
    if (c->top < 2 || c->size[c->top - 1] != c->size[c->top - 2])
        return 0;
    c->size[c->top - 2] *= 2;
    c->top--;
    return 1;
}

/* Sums of doubles. */
typedef struct {
    double v[CX_COUNT_LEVELS];
    cx_count c;
} cx_psum;

static inline void cx_psum_init(cx_psum *p) { cx_count_init(&p->c); }

static inline void cx_psum_push(cx_psum *p, double x)
{
    p->v[cx_count_push(&p->c)] = x;
    while (cx_count_merge(&p->c))
        p->v[p->c.top - 1] += p->v[p->c.top];
}

static inline double cx_psum_result(const cx_psum *p)
{
    if (p->c.top == 0)
        return 0.0;
    double acc = p->v[p->c.top - 1];
    for (int i = p->c.top - 2; i >= 0; i--)
        acc = p->v[i] + acc;
    return acc;
}

/* The pairwise sum of v[0..n) (overwrites v): adjacent pairs added level by level,
 * the odd last item carried up -- the counter's tree, in a vectorisable array form
 * (the per-task sums over many rows take this one). */
static inline double cx_pairwise_sum(double *v, ptrdiff_t n)
{
    if (n == 0)
        return 0.0;
    while (n > 1) {
        ptrdiff_t half = n / 2;
        for (ptrdiff_t i = 0; i < half; i++)
            v[i] = v[2 * i] + v[2 * i + 1];
        if (n & 1)
            v[half] = v[n - 1];
        n = half + (n & 1);
    }
    return v[0];
}

/* Row partials of log-sum-exp. */
typedef struct {
    cx_lse_acc item[CX_COUNT_LEVELS];
    cx_count c;
} cx_pairwise_stack;

static inline void cx_pairwise_init(cx_pairwise_stack *st) { cx_count_init(&st->c); }

static inline void cx_pairwise_push(cx_pairwise_stack *st, cx_lse_acc a)
{
    st->item[cx_count_push(&st->c)] = a;
    while (cx_count_merge(&st->c))
        st->item[st->c.top - 1] = cx_lse_combine(st->item[st->c.top - 1], st->item[st->c.top]);
}

static inline cx_lse_acc cx_pairwise_result(const cx_pairwise_stack *st)
{
    cx_lse_acc acc = {-CX_INFINITY, 0.0};
    if (st->c.top == 0)
        return acc;
    acc = st->item[st->c.top - 1];
    for (int i = st->c.top - 2; i >= 0; i--)
        acc = cx_lse_combine(st->item[i], acc);
    return acc;
}

/* Weighted row partials. */
typedef struct {
    cx_lse_wacc item[CX_COUNT_LEVELS];
    cx_count c;
} cx_wpairwise_stack;

static inline void cx_wpairwise_init(cx_wpairwise_stack *st) { cx_count_init(&st->c); }

static inline void cx_wpairwise_push(cx_wpairwise_stack *st, cx_lse_wacc a)
{
    st->item[cx_count_push(&st->c)] = a;
    while (cx_count_merge(&st->c))
        st->item[st->c.top - 1] = cx_lse_wcombine(st->item[st->c.top - 1], st->item[st->c.top]);
}

static inline cx_lse_wacc cx_wpairwise_result(const cx_wpairwise_stack *st)
{
    cx_lse_wacc acc = {-CX_INFINITY, 0.0, 0.0};
    if (st->c.top == 0)
        return acc;
    acc = st->item[st->c.top - 1];
    for (int i = st->c.top - 2; i >= 0; i--)
        acc = cx_lse_wcombine(st->item[i], acc);
    return acc;
}

/* ---- the ISA levels ----------------------------------------------------- */

#define CX_CAT_(a, b) a##_##b
#define CX_CAT(a, b) CX_CAT_(a, b)
#define CX_FN(name) CX_CAT(name, CX_ISA)
#define CX_TN(name) CX_CAT(CX_CAT(name, CX_TS), CX_ISA)

/* cx_isa.inc instantiates every kernel for the ISA named by CX_ISA. */

/* CX_SIMDLEN: lanes of double per step of the hot sums (a few registers'
 * worth, so that independent accumulators hide the add latency). */

/* baseline: whatever the compiler targets by default (SSE2 on x86-64) */
#define CX_ISA base
#define CX_SIMDLEN 8
#include "cx_isa.inc"
#undef CX_ISA
#undef CX_SIMDLEN

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define CX_HAVE_X86_DISPATCH 1

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2")
#endif
#define CX_ISA avx2
#define CX_SIMDLEN 16
#include "cx_isa.inc"
#undef CX_ISA
#undef CX_SIMDLEN
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi2"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi2")
#endif
#define CX_ISA avx512
#define CX_SIMDLEN 32
#include "cx_isa.inc"
#undef CX_ISA
#undef CX_SIMDLEN
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif /* x86 dispatch */

/* ---- run-time choice ---------------------------------------------------- */

enum { CX_ISA_BASE = 0, CX_ISA_AVX2 = 1, CX_ISA_AVX512 = 2 };

static inline const char *cx_isa_name(int isa)
{
    return isa == CX_ISA_AVX512 ? "avx512" : isa == CX_ISA_AVX2 ? "avx2" : "baseline";
}

/* The widest level this CPU (and OS) supports, unless CROSSENT_SIMD says
 * otherwise ("baseline", "avx2" or "avx512", capped at what the CPU has). */
static inline int cx_select_isa(void)
{
    int best = CX_ISA_BASE;
#ifdef CX_HAVE_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
        && __builtin_cpu_supports("bmi2"))
        best = CX_ISA_AVX2;
    if (best == CX_ISA_AVX2 && __builtin_cpu_supports("avx512f")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw"))
        best = CX_ISA_AVX512;
#endif
    const char *want = getenv("CROSSENT_SIMD");
    if (want != NULL) {
        int w = best;
        if (strcmp(want, "baseline") == 0) w = CX_ISA_BASE;
        else if (strcmp(want, "avx2") == 0) w = CX_ISA_AVX2;
        else if (strcmp(want, "avx512") == 0) w = CX_ISA_AVX512;
        if (w < best) best = w;
    }
    return best;
}

/* Function-pointer tables, one per family, filled for the chosen level. */
#define CX_PICK(isa, name)                                                      \
    ((isa) == CX_ISA_AVX512 ? CX_PICK_512(name) : (isa) == CX_ISA_AVX2 ? CX_PICK_256(name) : name##_base)
#ifdef CX_HAVE_X86_DISPATCH
#define CX_PICK_512(name) name##_avx512
#define CX_PICK_256(name) name##_avx2
#else
#define CX_PICK_512(name) name##_base
#define CX_PICK_256(name) name##_base
#endif

#define CX_LSE_TABLE_FIELDS(T, TS)                                                         \
    cx_lse_acc (*lse_row_##TS)(const T *, ptrdiff_t, ptrdiff_t);                           \
    cx_lse_acc (*lse_row_exact_##TS)(const T *, ptrdiff_t, ptrdiff_t);                     \
    cx_lse_acc (*lse_row_refined_##TS)(const T *, ptrdiff_t, ptrdiff_t);                   \
    void (*lse_cols_exact_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, double *, double *); \
    double (*logsumexp_row_##TS)(const T *, ptrdiff_t, ptrdiff_t);                         \
    void (*log_softmax_write_##TS)(const T *, ptrdiff_t, ptrdiff_t, T *, ptrdiff_t, cx_lse_acc); \
    void (*softmax_write_##TS)(const T *, ptrdiff_t, ptrdiff_t, T *, ptrdiff_t, cx_lse_acc);     \
    void (*log_softmax_row_##TS)(const T *, ptrdiff_t, ptrdiff_t, T *, ptrdiff_t);          \
    void (*softmax_row_##TS)(const T *, ptrdiff_t, ptrdiff_t, T *, ptrdiff_t);              \
    cx_lse_acc (*lse_group_##TS)(const T *, ptrdiff_t, ptrdiff_t);                         \
    void (*lse_cols_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, double *, double *); \
    void (*lse_cols_finish_##TS)(ptrdiff_t, const double *, const double *, T *, ptrdiff_t); \
    void (*log_softmax_cols_write_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, \
                                        const double *, const double *, T *, ptrdiff_t, ptrdiff_t); \
    void (*softmax_cols_write_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t,  \
                                    const double *, const double *, T *, ptrdiff_t, ptrdiff_t); \
    cx_lse_wacc (*lse_weighted_row_##TS)(const T *, ptrdiff_t, const T *, ptrdiff_t, ptrdiff_t); \
    void (*log_expit_##TS)(const T *, ptrdiff_t, T *, ptrdiff_t, ptrdiff_t);                \
    void (*norm_logpdf_##TS)(const T *, ptrdiff_t, const T *, ptrdiff_t, const T *, ptrdiff_t, \
                             T *, ptrdiff_t, ptrdiff_t);

typedef struct {
    int isa;
    CX_LSE_TABLE_FIELDS(float, f32)
    CX_LSE_TABLE_FIELDS(double, f64)
} cx_lse_table;

#define CX_LSE_TABLE_FILL(t, isa, TS)                                              \
    (t)->lse_row_##TS = CX_PICK(isa, cx_lse_row_##TS);                             \
    (t)->lse_row_exact_##TS = CX_PICK(isa, cx_lse_row_exact_##TS);                 \
    (t)->lse_row_refined_##TS = CX_PICK(isa, cx_lse_row_refined_##TS);             \
    (t)->lse_cols_exact_##TS = CX_PICK(isa, cx_lse_cols_exact_##TS);               \
    (t)->logsumexp_row_##TS = CX_PICK(isa, cx_logsumexp_row_##TS);                 \
    (t)->log_softmax_write_##TS = CX_PICK(isa, cx_log_softmax_write_##TS);         \
    (t)->softmax_write_##TS = CX_PICK(isa, cx_softmax_write_##TS);                 \
    (t)->log_softmax_row_##TS = CX_PICK(isa, cx_log_softmax_row_##TS);             \
    (t)->softmax_row_##TS = CX_PICK(isa, cx_softmax_row_##TS);                     \
    (t)->lse_group_##TS = CX_PICK(isa, cx_lse_group_##TS);                         \
    (t)->lse_cols_##TS = CX_PICK(isa, cx_lse_cols_##TS);                           \
    (t)->lse_cols_finish_##TS = CX_PICK(isa, cx_lse_cols_finish_##TS);             \
    (t)->log_softmax_cols_write_##TS = CX_PICK(isa, cx_log_softmax_cols_write_##TS); \
    (t)->softmax_cols_write_##TS = CX_PICK(isa, cx_softmax_cols_write_##TS);       \
    (t)->lse_weighted_row_##TS = CX_PICK(isa, cx_lse_weighted_row_##TS);           \
    (t)->log_expit_##TS = CX_PICK(isa, cx_log_expit_##TS);                         \
    (t)->norm_logpdf_##TS = CX_PICK(isa, cx_norm_logpdf_##TS);

static inline void cx_lse_table_init(cx_lse_table *t)
{
    int isa = cx_select_isa();
    t->isa = isa;
    CX_LSE_TABLE_FILL(t, isa, f32)
    CX_LSE_TABLE_FILL(t, isa, f64)
}

/* The other families' tables (same pattern as cx_lse_table). */
#include "cx_ce_table.h"
#include "cx_gauss_table.h"

/* The elementary functions of one ISA level over an array (accuracy tests);
 * returns -1 if that level is not compiled in or not supported here. */
static inline int cx_elementary(int isa, int which, const double *x, double *y, ptrdiff_t n)
{
    if (isa > cx_select_isa())
        return -1;
#ifdef CX_HAVE_X86_DISPATCH
    if (isa == CX_ISA_AVX512) { cx_elementary_avx512(which, x, y, n); return 0; }
    if (isa == CX_ISA_AVX2) { cx_elementary_avx2(which, x, y, n); return 0; }
#endif
    cx_elementary_base(which, x, y, n);
    return 0;
}

#endif /* CROSSENT_H */
