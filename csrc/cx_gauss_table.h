/* crossent: dispatch table of the Gaussian / Poisson family (cx_gauss.inc),
 * filled for the ISA level chosen at run time (same pattern as cx_lse_table). */
#ifndef CX_GAUSS_TABLE_H
#define CX_GAUSS_TABLE_H

#define CX_GAUSS_TABLE_FIELDS(T, TS)                                                         \
    int (*block_##TS)(const cx_gauss_prm *, ptrdiff_t, const T *, ptrdiff_t, const T *,    \
                      ptrdiff_t, const T *, ptrdiff_t, T *, ptrdiff_t, T *, ptrdiff_t, T *, \
                      ptrdiff_t, double *, double *, double *);                             \
    double (*array_##TS)(int, int, double, const T *, ptrdiff_t, const T *, ptrdiff_t,     \
                         const T *, ptrdiff_t, ptrdiff_t, T *, ptrdiff_t, T *, ptrdiff_t, T *, \
                         ptrdiff_t, double);

typedef struct {
    int isa;
    CX_GAUSS_TABLE_FIELDS(float, f32)
    CX_GAUSS_TABLE_FIELDS(double, f64)
} cx_gauss_table;

#define CX_GAUSS_TABLE_FILL(t, isa, TS)                                 \
    (t)->block_##TS = CX_PICK(isa, cx_gauss_block_##TS);                \
    (t)->array_##TS = CX_PICK(isa, cx_gauss_array_##TS);

static inline void cx_gauss_table_init(cx_gauss_table *t)
{
    int isa = cx_select_isa();
    t->isa = isa;
    CX_GAUSS_TABLE_FILL(t, isa, f32)
    CX_GAUSS_TABLE_FILL(t, isa, f64)
}

#endif /* CX_GAUSS_TABLE_H */
