"""Nothing lost: read-only inputs everywhere, inputs never written, and ``out=`` that is
an input (in place) or overlaps one (API.md "Common conventions").

- every public function, every array argument read-only (also strided and in
  non-native byte order), with ``return_grad`` both ways: it works, gives the result of
  writable copies bitwise, and leaves every input bitwise unchanged;
- ``out=`` exactly an input of the result's shape and dtype works in place (the result
  of the call without ``out``); ``out=`` sharing memory with an input in any other way
  (a shifted view of the same buffer) is refused with ``ValueError`` naming ``out``,
  before anything is written; views of one buffer that do not share elements
  (interleaved) are fine.
"""
import inspect

import numpy as np
import pytest

import crossent
from crossent import reference

from _helpers import inputs_unchanged, same_bits

ARRAY_PARAMS = {"a", "b", "x", "loc", "scale", "input", "target", "weight", "pos_weight",
                "var", "log_var", "std"}
FUNCTIONS = [getattr(crossent, n) for n in crossent.__all__
             if inspect.isroutine(getattr(crossent, n)) and n not in ("get_include", "show_config")]


def _data():
    rng = np.random.default_rng(2718)
    x = rng.normal(size=(40, 9)) * 4
    return dict(
        x=x,
        x32=x.astype(np.float32),
        labels=rng.integers(0, 9, size=40),
        probs=rng.dirichlet(np.ones(9), size=40),
        t01=rng.uniform(size=(40, 9)),
        cw=rng.uniform(0.5, 2.0, size=9),
        col=rng.uniform(0.5, 2.0, size=(40, 1)),
        row=rng.uniform(0.5, 2.0, size=9),
        full=rng.uniform(0.5, 2.0, size=(40, 9)),
        counts=rng.poisson(2.0, size=(40, 9)).astype(np.float64),
        signed=rng.uniform(-1.0, 1.0, size=9),
    )


def _cases():
    """(id, function, args, kwargs): every function, every array argument, return_grad
    both ways.  Arguments are names of _data() entries."""
    c = crossent
    cases = [
        ("logsumexp", c.logsumexp, ("x",), dict(axis=1)),
        ("logsumexp-b-sign", c.logsumexp, ("x",), dict(b="signed", axis=0, return_sign=True)),
        ("logsumexp-b-full", c.logsumexp, ("x32",), dict(b="full")),
        ("softmax", c.softmax, ("x",), dict(axis=1)),
        ("log_softmax", c.log_softmax, ("x32",), dict(axis=0)),
        ("log_expit", c.log_expit, ("x",), {}),
        ("norm_logpdf", c.norm_logpdf, ("x", "row", "col"), {}),
        ("norm_logpdf-kw", c.norm_logpdf, ("x",), dict(loc="full", scale="row")),
    ]
    for rg in (False, True):
        cases += [
            (f"cross_entropy-rg{rg:d}", c.cross_entropy, ("x", "labels", "cw"),
             dict(label_smoothing=0.1, return_grad=rg)),
            (f"cross_entropy-probs-rg{rg:d}", c.cross_entropy, ("x32", "probs"),
             dict(weight="cw", return_grad=rg)),
            (f"nll_loss-rg{rg:d}", c.nll_loss, ("x", "labels"), dict(weight="cw", return_grad=rg)),
            (f"bce-rg{rg:d}", c.binary_cross_entropy_with_logits, ("x", "t01"),
             dict(weight="full", pos_weight="row", return_grad=rg)),
            (f"kl_div-rg{rg:d}", c.kl_div, ("x", "probs"), dict(reduction="none", return_grad=rg)),
            (f"mse_loss-rg{rg:d}", c.mse_loss, ("x32", "t01"), dict(return_grad=rg)),
            (f"gaussian_nll_loss-rg{rg:d}", c.gaussian_nll_loss, ("x", "t01", "col"),
             dict(return_grad=rg)),
            (f"poisson_nll_loss-rg{rg:d}", c.poisson_nll_loss, ("x", "counts"),
             dict(reduction="sum", return_grad=rg)),
            (f"gaussian_nll-var-rg{rg:d}", c.gaussian_nll, ("x", "t01", "full"), dict(return_grad=rg)),
            (f"gaussian_nll-log_var-rg{rg:d}", c.gaussian_nll, ("x", "t01"),
             dict(log_var="row", return_grad=rg)),
            (f"gaussian_nll-std-rg{rg:d}", c.gaussian_nll, ("x32", "t01"),
             dict(std="col", reduction="none", return_grad=rg)),
            (f"gaussian_nll-profiled-rg{rg:d}", c.gaussian_nll, ("x", "t01"), dict(return_grad=rg)),
            (f"mse_loss-weight-rg{rg:d}", c.mse_loss, ("x", "t01"),
             dict(weight="full", return_grad=rg)),
            (f"l1_loss-rg{rg:d}", c.l1_loss, ("x", "t01"), dict(weight="full", return_grad=rg)),
            (f"l1_loss-broadcast-rg{rg:d}", c.l1_loss, ("col", "x32"),
             dict(weight="col", reduction="none", return_grad=rg)),
            (f"smooth_l1_loss-rg{rg:d}", c.smooth_l1_loss, ("x32", "t01"),
             dict(beta=0.5, return_grad=rg)),
            (f"huber_loss-rg{rg:d}", c.huber_loss, ("x", "t01"),
             dict(delta=0.7, weight="full", reduction="none", return_grad=rg)),
            (f"binary_cross_entropy-rg{rg:d}", c.binary_cross_entropy, ("t01", "probs"),
             dict(weight="row", return_grad=rg)),
        ]
    return cases


LAYOUTS = ("read-only", "read-only-strided", "read-only-swapped")


def _layout(a, layout):
    """`a`'s values, read-only, in the given memory layout."""
    if layout == "read-only-strided":
        big = np.zeros(a.shape[:-1] + (3 * a.shape[-1],), dtype=a.dtype) if a.ndim else None
        if big is not None:
            big[..., ::3] = a
            a = big[..., ::3]
        else:
            a = a.copy()
    elif layout == "read-only-swapped":
        a = a.astype(a.dtype.newbyteorder())
    else:
        a = a.copy()
    a.flags.writeable = False
    return a


def _bind(names, kwargs, data, transform):
    args = [transform(data[n]) for n in names]
    kw = {k: transform(data[v]) if isinstance(v, str) and v in data else v
          for k, v in kwargs.items()}
    return args, kw


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", _cases(), ids=[c[0] for c in _cases()])
def test_read_only_inputs(case, layout):
    _, fn, names, kwargs = case
    data = _data()
    want = fn(*_bind(names, kwargs, data, lambda a: a.copy())[0],
              **_bind(names, kwargs, data, lambda a: a.copy())[1])
    args, kw = _bind(names, kwargs, data, lambda a: _layout(a, layout))
    with inputs_unchanged(*args, *kw.values()):
        got = fn(*args, **kw)
    assert same_bits(got, want), f"{case[0]} with {layout} inputs differs from writable copies"
    assert all(not a.flags.writeable for a in [*args, *kw.values()] if isinstance(a, np.ndarray))


def test_read_only_cases_cover_the_api():
    """Every public function, each of its array arguments, return_grad both ways."""
    seen = {}
    grads = {}
    for _, fn, names, kwargs in _cases():
        params = list(inspect.signature(fn).parameters)
        used = set(params[:len(names)]) | {k for k, v in kwargs.items() if isinstance(v, str)}
        seen.setdefault(fn.__name__, set()).update(used)
        if "return_grad" in kwargs:
            grads.setdefault(fn.__name__, set()).add(kwargs["return_grad"])
    assert len(FUNCTIONS) >= 13  # compiled functions are routines, not Python functions
    for fn in FUNCTIONS:
        params = inspect.signature(fn).parameters
        wanted = ARRAY_PARAMS & set(params)
        assert wanted <= seen.get(fn.__name__, set()), (fn.__name__, wanted - seen.get(fn.__name__, set()))
        if "return_grad" in params:
            assert grads.get(fn.__name__) == {False, True}, fn.__name__


def test_torch_tensor_inputs_unchanged():
    torch = pytest.importorskip("torch")
    data = _data()
    x = torch.from_numpy(data["x"].copy())
    y = torch.from_numpy(data["labels"].copy())
    w = torch.from_numpy(data["cw"].copy())
    with inputs_unchanged(x, y, w):
        loss, grad = crossent.cross_entropy(x, y, w, return_grad=True)
        crossent.gaussian_nll(x, torch.zeros(9, dtype=torch.float64), log_var=w, return_grad=True)
    want = crossent.cross_entropy(data["x"], data["labels"], data["cw"], return_grad=True)
    assert same_bits((loss, grad), want)


# ---------------------------------------------------------------------- out= in place

def _inplace_cases():
    """(id, call(x, out)) for functions whose out= may be their input, on x of shape
    `shape`; the axes cover every walk (rows, long rows in groups, across rows)."""
    c = crossent
    return [
        ("softmax-axis1", (300, 500), lambda x, out: c.softmax(x, axis=1, out=out)),
        ("softmax-axis0", (300, 500), lambda x, out: c.softmax(x, axis=0, out=out, n_threads=2)),
        ("softmax-all", (300, 500), lambda x, out: c.softmax(x, out=out)),
        ("softmax-long", (2, 200_000), lambda x, out: c.softmax(x, axis=1, out=out, n_threads=2)),
        ("log_softmax-axis1", (300, 500), lambda x, out: c.log_softmax(x, axis=1, out=out)),
        ("log_softmax-axis0", (300, 500), lambda x, out: c.log_softmax(x, axis=0, out=out)),
        ("log_softmax-tuple", (6, 50, 40), lambda x, out: c.log_softmax(x, axis=(0, 2), out=out)),
        ("log_softmax-long", (400_001,), lambda x, out: c.log_softmax(x, out=out, n_threads=2)),
        ("log_softmax-short-rows", (50_000, 3), lambda x, out: c.log_softmax(x, axis=1, out=out)),
        ("log_expit", (300, 500), lambda x, out: c.log_expit(x, out=out, n_threads=2)),
        ("norm_logpdf-x", (300, 500), lambda x, out: c.norm_logpdf(x, 0.5, 2.0, out=out)),
        ("logsumexp-keepdims", (3000, 1),
         lambda x, out: c.logsumexp(x, axis=1, keepdims=True, out=out)),
        ("logsumexp-b", (3000, 1),
         lambda x, out: c.logsumexp(x, axis=1, b=np.full((3000, 1), 0.5, x.dtype), keepdims=True,
                                    out=out)),
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", _inplace_cases(), ids=[c[0] for c in _inplace_cases()])
def test_out_is_the_input_in_place(case, dtype):
    _, shape, call = case
    x = (np.random.default_rng(11).normal(size=shape) * 6).astype(dtype)
    for view in (x, x[::-1]):  # contiguous and negative strides
        want = call(view.copy(), None)
        res = call(view, view)
        assert res is view or (np.ndim(res) == 0 and view.ndim == 0)
        assert same_bits(view, np.asarray(want)), f"{case[0]}: in place differs"


def test_out_is_another_input_in_place():
    """out= may be any input of the result's shape: loc or scale of norm_logpdf, b of a
    keepdims logsumexp."""
    rng = np.random.default_rng(12)
    x, loc, scale = rng.normal(size=(3, 200, 300))
    scale = np.abs(scale) + 0.5
    want = crossent.norm_logpdf(x, loc, scale)
    for which in ("loc", "scale"):
        args = dict(loc=loc.copy(), scale=scale.copy())
        crossent.norm_logpdf(x, **args, out=args[which])
        assert same_bits(args[which], want), which
    a = rng.normal(size=(5000, 1))
    b = rng.uniform(0.5, 2.0, size=(5000, 1))
    want = crossent.logsumexp(a, axis=1, b=b, keepdims=True)
    crossent.logsumexp(a, axis=1, b=b, keepdims=True, out=b)
    assert same_bits(b, want)


# ------------------------------------------------------------------ out= overlapping

def _overlap_cases():
    """(id, refused call(buf) where out overlaps an input by a shift, input name)."""
    c = crossent

    def two_views(buf, n, shift):
        return buf[:n], buf[shift:shift + n]

    def elementwise(fn, **kw):
        def call(buf):
            x, out = two_views(buf, 100_000, 1)
            return fn(x, out=out, **kw)
        return call

    def rows(fn, axis):
        def call(buf):
            x = buf[:60_000].reshape(300, 200)
            out = buf[200:60_200].reshape(300, 200)  # one row further on
            return fn(x, axis=axis, out=out)
        return call

    def lse(buf):
        x = buf[:60_000].reshape(300, 200)
        return c.logsumexp(x, axis=1, out=buf[100:400])

    def lse_sign(buf):
        x = buf[:60_000].reshape(300, 200)
        return c.logsumexp(x, axis=0, return_sign=True, out=buf[7:207])

    def lse_b_a(buf):
        x = buf[:60_000].reshape(300, 200)
        return c.logsumexp(x, axis=1, b=np.ones(200), out=buf[100:400])

    def lse_b_b(buf):
        x = np.ones((300, 200))
        b = buf[:60_000].reshape(300, 200)
        return c.logsumexp(x, axis=1, b=b, out=buf[100:400])

    def norm_loc(buf):
        loc, out = two_views(buf, 100_000, 3)
        return c.norm_logpdf(np.zeros(100_000), loc, 1.0, out=out)

    def norm_scale(buf):
        scale, out = two_views(buf, 100_000, 5)
        return c.norm_logpdf(np.zeros(100_000), 0.0, scale, out=out)

    def norm_broadcast(buf):
        loc = buf[:400]  # broadcast against x of shape (300, 400); out holds it
        out = buf[:120_000].reshape(300, 400)[::-1]
        return c.norm_logpdf(np.zeros((300, 400)), loc, 1.0, out=out)

    def transposed(buf):
        x = buf[:90_000].reshape(300, 300)
        return c.softmax(x, axis=1, out=x.T)

    return [
        ("softmax", elementwise(c.softmax), "x"),
        ("log_softmax", elementwise(c.log_softmax), "x"),
        ("log_expit", elementwise(c.log_expit), "x"),
        ("norm_logpdf-x", elementwise(c.norm_logpdf), "x"),
        ("softmax-rows", rows(c.softmax, 1), "x"),
        ("log_softmax-cols", rows(c.log_softmax, 0), "x"),
        ("softmax-transposed", transposed, "x"),
        ("logsumexp", lse, "a"),
        ("logsumexp-sign", lse_sign, "a"),
        ("logsumexp-b-over-a", lse_b_a, "a"),
        ("logsumexp-b-over-b", lse_b_b, "b"),
        ("norm_logpdf-loc", norm_loc, "loc"),
        ("norm_logpdf-scale", norm_scale, "scale"),
        ("norm_logpdf-broadcast-loc", norm_broadcast, "loc"),
    ]


@pytest.mark.parametrize("case", _overlap_cases(), ids=[c[0] for c in _overlap_cases()])
def test_out_partially_overlapping_an_input_is_refused(case):
    _, call, name = case
    buf = np.random.default_rng(13).uniform(0.5, 2.0, size=200_000)
    before = buf.copy()
    with pytest.raises(ValueError, match=rf"\bout\b.*\b{name}\b"):
        call(buf)
    assert np.array_equal(buf, before), "the refused call wrote into the buffer"


def test_out_interleaved_without_shared_elements_is_accepted():
    """Views of one buffer that share no element are independent arrays."""
    buf = np.random.default_rng(14).normal(size=(400, 600))
    x, out = buf[:, ::2], buf[:, 1::2]
    x_before = x.copy()
    for fn, kw in ((crossent.softmax, dict(axis=1)), (crossent.log_softmax, dict(axis=0)),
                   (crossent.log_expit, {}), (crossent.norm_logpdf, {})):
        want = fn(x_before, **kw)
        res = fn(x, out=out, **kw)
        assert res is out
        assert same_bits(out, want), fn.__name__
        assert same_bits(x, x_before), fn.__name__
    want = crossent.logsumexp(x_before, axis=1)
    out1 = buf[:, 1]
    crossent.logsumexp(buf[:, ::2], axis=1, out=out1)
    assert same_bits(out1, want) and same_bits(buf[:, ::2], x_before)


def test_out_read_only_is_refused():
    x = np.ones((4, 5))
    out = np.empty_like(x)
    out.flags.writeable = False
    for call in (lambda: crossent.softmax(x, axis=1, out=out),
                 lambda: crossent.log_expit(x, out=out),
                 lambda: crossent.norm_logpdf(x, out=out),
                 lambda: crossent.logsumexp(x.T, axis=0, out=out[0])):
        with pytest.raises(ValueError, match="out"):
            call()


@pytest.mark.parametrize("shape", [(1, 2), (3, 1), (1, 1, 5)])
def test_in_place_with_size_one_dims(shape):
    """out=x in place is accepted when x has size-1 dims: their strides are arbitrary
    (a broadcast of x against scalars may set them to 0) and do not make an overlap."""
    x = np.linspace(-2.0, 2.0, int(np.prod(shape))).reshape(shape)
    want = reference.norm_logpdf(x, 0.5, 2.0)
    got = crossent.norm_logpdf(x, 0.5, 2.0, out=x)
    assert got is x
    np.testing.assert_allclose(x, want, rtol=1e-15)
    y = np.linspace(-2.0, 2.0, int(np.prod(shape))).reshape(shape)
    want = reference.log_expit(y)
    assert crossent.log_expit(y, out=y) is y
    np.testing.assert_allclose(y, want, rtol=1e-15)
