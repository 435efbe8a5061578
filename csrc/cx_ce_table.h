/* crossent: dispatch table of the cross-entropy family (kernels in cx_ce.inc),
 * filled for the ISA level chosen at run time, as cx_lse_table. */
#ifndef CX_CE_TABLE_H
#define CX_CE_TABLE_H

#define CX_CE_TABLE_FIELDS(T, TS)                                                          \
    double (*ce_row_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, const T *, double,   \
                          double, T *, ptrdiff_t, double);                                 \
    double (*ce_prob_row_##TS)(const T *, ptrdiff_t, ptrdiff_t, const T *, ptrdiff_t,      \
                               const T *, double, T *, ptrdiff_t, double);                 \
    void (*ce_cols_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t,            \
                         const ptrdiff_t *, const T *, double, double, double *, T *,      \
                         ptrdiff_t, ptrdiff_t, double);                                    \
    void (*ce_prob_cols_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t,       \
                              const T *, ptrdiff_t, ptrdiff_t, const T *, double, double *,\
                              T *, ptrdiff_t, ptrdiff_t, double);                          \
    double (*bce_##TS)(const T *, ptrdiff_t, const T *, ptrdiff_t, const T *, ptrdiff_t,   \
                       const T *, ptrdiff_t, T *, ptrdiff_t, T *, ptrdiff_t, double, double, \
                       ptrdiff_t);                                                         \
    double (*kl_div_##TS)(const T *, ptrdiff_t, const T *, ptrdiff_t, int, T *, ptrdiff_t, \
                          T *, ptrdiff_t, double, double, ptrdiff_t);                      \
    double (*ce_row_public_##TS)(const T *, ptrdiff_t, ptrdiff_t, ptrdiff_t, T *, ptrdiff_t, \
                                 double);

typedef struct {
    int isa;
    CX_CE_TABLE_FIELDS(float, f32)
    CX_CE_TABLE_FIELDS(double, f64)
} cx_ce_table;

#define CX_CE_TABLE_FILL(t, isa, TS)                                       \
    (t)->ce_row_##TS = CX_PICK(isa, cx_ce_row_##TS);                       \
    (t)->ce_prob_row_##TS = CX_PICK(isa, cx_ce_prob_row_##TS);             \
    (t)->ce_cols_##TS = CX_PICK(isa, cx_ce_cols_##TS);                     \
    (t)->ce_prob_cols_##TS = CX_PICK(isa, cx_ce_prob_cols_##TS);           \
    (t)->bce_##TS = CX_PICK(isa, cx_bce_##TS);                             \
    (t)->kl_div_##TS = CX_PICK(isa, cx_kl_div_##TS);                       \
    (t)->ce_row_public_##TS = CX_PICK(isa, cx_ce_row_public_##TS);

static inline void cx_ce_table_init(cx_ce_table *t)
{
    int isa = cx_select_isa();
    t->isa = isa;
    CX_CE_TABLE_FILL(t, isa, f32)
    CX_CE_TABLE_FILL(t, isa, f64)
}

#endif /* CX_CE_TABLE_H */
