# The one array walker.  An operation is a broadcast shape and its operands' element
# strides (0 where an operand is broadcast or absent); its dims are kept (one result
# per kept index: a row) or reduced (walked inside a row).  build_walk drops size-1
# dims, orders each part by stride and merges dims where every operand chains, then
# splits the work into tasks from the shape and strides alone (never the thread
# count), so every run walks the same tasks and combines their partials in the same
# order.  A family writes task functions over one task; run_tasks runs them.
cimport numpy as cnp

cdef enum:
    MAXD = 64           # dims of an operation
    MAXOP = 8           # operands of an operation
    PART_STACK = 256    # partial results kept on the stack up to this many doubles

cdef enum WalkPath:
    WALK_EMPTY = 0      # nothing to walk (no rows, or empty rows)
    WALK_ROWS = 1       # task t: rows [t * rpt, (t + 1) * rpt)
    WALK_GROUPS = 2     # long rows: task t is group t % ngroups of row t // ngroups
    WALK_ACROSS = 3     # tiles of `tile` neighbouring rows along the last kept dim,
                        # walked side by side (a strided or short reduced part)

cdef struct WalkRules:
    Py_ssize_t task_len     # ROWS: about this many elements per task ...
    Py_ssize_t max_rpt      # ... and at most this many rows
    Py_ssize_t group_len    # rows longer than this are split into groups (0: never)
    Py_ssize_t tile         # ACROSS: rows per tile (0: never across)
    Py_ssize_t across_short # ACROSS when a row is shorter than this, or its stride
                            # is longer than the tile dim's ...
    Py_ssize_t across_width # ... and the tile dim has at least this many rows
    Py_ssize_t across_len   # ACROSS: reduced elements per task (0: the whole row)
    int nkey                # operands [0, nkey) order the dims: largest |stride| first

cdef struct Walk:
    int nd                      # dims after dropping size 1 and merging
    int nk                      # [0, nk) kept, [nk, nd) reduced (at least one, maybe of size 1)
    int nop
    Py_ssize_t shape[MAXD]
    Py_ssize_t st[MAXOP][MAXD]  # element strides per operand
    Py_ssize_t rs[MAXOP]        # their strides along the last dim (a row's, when one dim)
    Py_ssize_t rows             # product of the kept dims
    Py_ssize_t n                # product of the reduced dims (a row's length)
    Py_ssize_t rpt              # ROWS: rows per task
    Py_ssize_t ngroups, glen    # GROUPS: groups per row, elements per group
    Py_ssize_t tile, width, ntiles, nrg, rglen   # ACROSS: tile dim width, tiles per
                                # line, reduced groups per tile and their length
    Py_ssize_t ntasks
    WalkPath path

ctypedef void (*task_fn)(const Walk *w, void *args, Py_ssize_t t) noexcept nogil

cdef struct Parts:
    # per-task partial results, slot-major (slot k of task t: d[k * ntasks + t]),
    # and per-task flags; on the stack when few
    double *d
    int *flags
    Py_ssize_t ntasks
    void *heap
    double dstack[PART_STACK]
    int fstack[PART_STACK]

cdef int walk_arrays(Walk *w, list arrays, int nd, const cnp.npy_intp *shape,
                     const int *is_red, const WalkRules *rules) except -2
cdef int run_tasks(const Walk *w, task_fn fn, void *args, int nthreads,
                   bint dynamic) noexcept nogil
cdef int parts_init(Parts *p, Py_ssize_t ntasks, int nslot) except -1
cdef void parts_free(Parts *p) noexcept
cdef double parts_sum(Parts *p, int slot) noexcept nogil
cdef int parts_flags(const Parts *p) noexcept nogil


cdef inline int operand_strides(cnp.ndarray a, int nd, const cnp.npy_intp *shape,
                         Py_ssize_t *out) noexcept:
    """a's element strides as broadcast against `shape` (0 on its size-1 and missing
    leading dims); -1 when a stride is not a whole number of elements."""
    cdef int d, ad, off = nd - cnp.PyArray_NDIM(a)
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(a), s
    cdef const cnp.npy_intp *ash = cnp.PyArray_DIMS(a)
    cdef const cnp.npy_intp *ast = cnp.PyArray_STRIDES(a)
    for d in range(nd):
        ad = d - off
        if ad < 0 or ash[ad] == 1:
            out[d] = 0
            continue
        s = ast[ad]
        if s % item:
            return -1
        out[d] = s // item
    return 0


cdef inline Py_ssize_t iabs(Py_ssize_t v) noexcept nogil:
    return -v if v < 0 else v


cdef inline Py_ssize_t sort_key(const Py_ssize_t (*st)[MAXD], int nkey, int d) noexcept nogil:
    cdef int k
    cdef Py_ssize_t m = 0
    for k in range(nkey):
        m = max(m, iabs(st[k][d]))
    return m


cdef inline int sort_dims(int *dims, int n, const Py_ssize_t (*st)[MAXD], int nkey) noexcept:
    """Largest key first, stable (insertion sort: few dims)."""
    cdef int i, j, t
    cdef Py_ssize_t kt
    for i in range(1, n):
        t = dims[i]
        kt = sort_key(st, nkey, t)
        j = i - 1
        while j >= 0 and sort_key(st, nkey, dims[j]) < kt:
            dims[j + 1] = dims[j]
            j -= 1
        dims[j + 1] = t
    return 0


cdef inline int append_dims(Walk *w, const int *dims, int n, const cnp.npy_intp *shape,
                     const Py_ssize_t (*st)[MAXD]) noexcept:
    """Append dims (ordered) to w, each merged into the previous one (from the same
    call) when every operand's strides chain."""
    cdef int i, k, d, first = w.nd
    cdef bint merge
    for i in range(n):
        d = dims[i]
        merge = w.nd > first
        if merge:
            for k in range(w.nop):
                if w.st[k][w.nd - 1] != st[k][d] * shape[d]:
                    merge = False
                    break
        if merge:
            w.shape[w.nd - 1] *= shape[d]
            for k in range(w.nop):
                w.st[k][w.nd - 1] = st[k][d]
        else:
            w.shape[w.nd] = shape[d]
            for k in range(w.nop):
                w.st[k][w.nd] = st[k][d]
            w.nd += 1
    return 0


cdef inline int build_walk(Walk *w, int nd, const cnp.npy_intp *shape, int nop,
                    const Py_ssize_t (*st)[MAXD], const int *is_red,
                    const WalkRules *rules) noexcept:
    """Fill w for the broadcast shape (nd <= MAXD), nop operands' element strides
    st[k][d] and the reduced dims is_red[d]."""
    cdef int kept[MAXD]
    cdef int red[MAXD]
    cdef int nkept = 0, nred = 0, d, k, tdim
    cdef Py_ssize_t kin, kred
    w.nop = nop
    w.rows = 1
    w.n = 1
    for d in range(nd):
        if is_red[d]:
            w.n *= shape[d]
            if shape[d] != 1:
                red[nred] = d
                nred += 1
        else:
            w.rows *= shape[d]
            if shape[d] != 1:
                kept[nkept] = d
                nkept += 1
    sort_dims(kept, nkept, st, rules.nkey)
    sort_dims(red, nred, st, rules.nkey)
    w.nd = 0
    append_dims(w, kept, nkept, shape, st)
    w.nk = w.nd
    append_dims(w, red, nred, shape, st)
    if w.nd == w.nk:  # no reduced dim: one of size 1
        w.shape[w.nd] = 1
        for k in range(nop):
            w.st[k][w.nd] = 0
        w.nd += 1
    for k in range(nop):
        w.rs[k] = w.st[k][w.nd - 1]
    w.rpt = 1
    w.ngroups = 1
    w.glen = w.n
    w.tile = 1
    w.width = 1
    w.ntiles = 1
    w.nrg = 1
    w.rglen = w.n
    if w.rows == 0 or w.n == 0:
        w.path = WALK_EMPTY
        w.ntasks = 0
        return 0
    if rules.tile > 0 and w.nk >= 1 and w.shape[w.nk - 1] >= rules.across_width:
        tdim = w.nk - 1
        kin = sort_key(<const Py_ssize_t (*)[MAXD]>w.st, rules.nkey, tdim)
        kred = sort_key(<const Py_ssize_t (*)[MAXD]>w.st, rules.nkey, w.nd - 1)
        if w.n < rules.across_short or kred > kin:
            w.path = WALK_ACROSS
            w.tile = rules.tile
            w.width = w.shape[tdim]
            w.ntiles = (w.width + w.tile - 1) // w.tile
            if rules.across_len > 0:
                w.rglen = rules.across_len
                w.nrg = (w.n + w.rglen - 1) // w.rglen
            w.ntasks = (w.rows // w.width) * w.ntiles * w.nrg
            return 0
    if rules.group_len > 0 and w.n > rules.group_len:
        w.path = WALK_GROUPS
        w.glen = rules.group_len
        w.ngroups = (w.n + w.glen - 1) // w.glen
        w.ntasks = w.rows * w.ngroups
        return 0
    w.path = WALK_ROWS
    w.rpt = max(<Py_ssize_t>1, min(rules.max_rpt, rules.task_len // w.n))
    w.ntasks = (w.rows + w.rpt - 1) // w.rpt
    return 0


cdef inline void add_offsets(const Walk *w, Py_ssize_t idx, int d0, int d1,
                             Py_ssize_t *off) noexcept nogil:
    """off[k] += operand k's offset of flat index idx over dims [d0, d1), the last fastest."""
    cdef int d, k
    cdef Py_ssize_t i
    for d in range(d1 - 1, d0 - 1, -1):
        i = idx % w.shape[d]
        idx = idx // w.shape[d]
        for k in range(w.nop):
            off[k] += i * w.st[k][d]


cdef inline void row_offsets(const Walk *w, Py_ssize_t r, Py_ssize_t *off) noexcept nogil:
    """Every operand's offset of row r."""
    cdef int k
    if w.nk <= 1:  # the common case, without the index arithmetic
        for k in range(w.nop):
            off[k] = r * w.st[k][0] if w.nk else 0
        return
    for k in range(w.nop):
        off[k] = 0
    add_offsets(w, r, 0, w.nk, off)


cdef inline Py_ssize_t span_offsets(const Walk *w, const Py_ssize_t *base, Py_ssize_t f,
                                    Py_ssize_t f1, Py_ssize_t *off) noexcept nogil:
    """Offsets of element f of the row at `base` (flat over the reduced dims); returns
    how many elements from f run along the last dim (stride st[k][nd - 1]), at most f1 - f."""
    cdef int k, last = w.nd - 1
    cdef Py_ssize_t inner = w.shape[last], i0 = f % inner
    for k in range(w.nop):
        off[k] = base[k] + i0 * w.st[k][last]
    add_offsets(w, f // inner, w.nk, last, off)
    return min(inner - i0, f1 - f)


cdef inline Py_ssize_t tile_offsets(const Walk *w, Py_ssize_t t, Py_ssize_t *off,
                                    Py_ssize_t *f0, Py_ssize_t *f1) noexcept nogil:
    """ACROSS task t: offsets of its first row, its reduced range [f0, f1); returns
    its number of rows (neighbours along dim nk - 1, stride st[k][nk - 1])."""
    cdef int k
    cdef Py_ssize_t rg = t % w.nrg, rest = t // w.nrg
    cdef Py_ssize_t col0 = (rest % w.ntiles) * w.tile
    for k in range(w.nop):
        off[k] = col0 * w.st[k][w.nk - 1]
    add_offsets(w, rest // w.ntiles, 0, w.nk - 1, off)
    f0[0] = rg * w.rglen
    f1[0] = min(w.n, f0[0] + w.rglen)
    return min(w.tile, w.width - col0)


cdef inline Py_ssize_t red_stride(const Walk *w, int k) noexcept nogil:
    """Operand k's stride along a row that is one dim (nd == nk + 1)."""
    return w.rs[k]


cdef inline void task_range(const Walk *w, Py_ssize_t t, Py_ssize_t *base,
                            Py_ssize_t *f0, Py_ssize_t *f1) noexcept nogil:
    """Task t of a walk of one row per task or of groups: its row's offsets and its
    element range [f0, f1) of that row."""
    if w.path == WALK_GROUPS:
        row_offsets(w, t // w.ngroups, base)
        f0[0] = (t % w.ngroups) * w.glen
        f1[0] = min(w.n, f0[0] + w.glen)
    else:
        row_offsets(w, t, base)
        f0[0] = 0
        f1[0] = w.n
