"""The trainer's engines against each other and against float64.

The CPU engine (`PackedStep`, NumPy/OpenBLAS, packed [wˡ | bˡ], the SGD step fused into the
weight-gradient GEMM), the torch engine (`compile_step`, any device) and, where numba is
installed, the compiled engine (`gradprobe.fastepoch`, whole chunks of steps in one call)
compute the same equations with other roundings. Here, for every configuration:

* float32 against the float64 trainer (itself checked against torch.autograd to 1e-12 in
  test_train.py): each step's gradients (``state.grads``, the mean-cost gradient) within 1e-5
  relative in norm per tensor, ‖g₃₂ − g₆₄‖ ≤ 1e-5·‖g₆₄‖, and the accuracy curve of a short run on
  10 000 evaluation points equal within one point in ten thousand;
* the same seed gives bit-identical parameters and accuracies (same machine, same engine);
* the NumPy and torch engines agree on float64 to 1e-12;
* the compiled engine hands every epoch that needs per-step gradients (callbacks with
  ``on_batch_end``, clipping, momentum) to the NumPy engine: those runs are the NumPy engine's,
  bit for bit.
"""

import dataclasses
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from gradprobe import Callback, Network, TrainConfig, Trainer, fastepoch
from gradprobe.activations import ACTIVATIONS
from gradprobe.backprop import backprop
from gradprobe.costs import PAIRS
from gradprobe.experiments.base import torch_threads

#: The engines that can run a float32 CPU network here ("numba" only with numba installed).
ENGINES = ["numpy", "torch", *(["numba"] if fastepoch.available() else [])]

SIZES = [12, 9, 7, 4]


@pytest.fixture(autouse=True)
def _one_thread():
    """The project's thread policy (one intra-op thread); restored afterwards."""
    with torch_threads(1):
        yield


def _data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, SIZES[0], generator=g, dtype=torch.float64)
    # A learnable rule, so that the accuracy curve moves and its comparison means something.
    score = x[:, :4] - x[:, 4:8]
    return x, score.argmax(1)


TRAIN, EVAL = _data(200, 0), _data(10_000, 1)


class _Grads(Callback):
    def __init__(self, keep: int):
        self.keep, self.steps = keep, []

    def on_batch_end(self, state):
        if len(self.steps) < self.keep:
            self.steps.append([g.double().clone() for g in state.grads])


def _net(dtype, seeds=1, **kw):
    return Network(SIZES, seeds=seeds, seed=7, dtype=dtype, **kw)


def _pair(seeds=1, **kw):
    """A float32 net and a float64 net with exactly the same (float32-representable) weights."""
    n32, n64 = _net(torch.float32, seeds, **kw), _net(torch.float64, seeds, **kw)
    with torch.no_grad():
        for p, q in zip(n32.parameters(), n64.parameters()):
            q.copy_(p.double())
    return n32, n64


def _train(net, cfg, engine, callbacks=()):
    t = Trainer(net, cfg, callbacks=list(callbacks))
    t.engine = engine
    x, y = TRAIN
    return t.fit((x.to(net.weights[0].dtype), y), (EVAL[0].to(net.weights[0].dtype), EVAL[1]))


def _compare_float32_float64(cfg, engine="numpy", seeds=1, grads=True, **kw):
    n32, n64 = _pair(seeds, **kw)
    s32, s64 = _Grads(5), _Grads(5)
    r32 = _train(n32, cfg, engine, [s32] if grads else [])
    r64 = _train(n64, cfg, engine, [s64] if grads else [])
    for step, (a, b) in enumerate(zip(s32.steps, s64.steps)):
        for g32, g64 in zip(a, b):
            err = (g32 - g64).norm() / g64.norm().clamp_min(1e-30)
            assert err <= 1e-5, f"step {step}: relative gradient error {err:.2e}"
    # One evaluation point in ten thousand, per seed and epoch.
    assert (r32.accuracy - r64.accuracy).abs().max() <= 1e-4 + 1e-12
    return r32, r64


BASE = TrainConfig(epochs=2, batch_size=10, eta=0.5, lmbda=1.0)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS, ids=[f"{o}+{c}" for o, c in PAIRS])
def test_float32_matches_float64_every_activation_and_cost(activation, output, cost):
    eta = 0.05 if "linear" in (activation, output) or "relu" in activation else BASE.eta
    cfg = dataclasses.replace(BASE, eta=eta)
    _compare_float32_float64(cfg, activation=activation, output=output, cost=cost)


@pytest.mark.parametrize(
    "cfg",
    [
        dataclasses.replace(BASE, lmbda=0.0),
        BASE,
        dataclasses.replace(BASE, regularization="l1"),
        dataclasses.replace(BASE, clip_norm=0.05),
        dataclasses.replace(BASE, momentum=0.5),
        dataclasses.replace(BASE, momentum=0.5, regularization="l1", clip_norm=0.1),
        dataclasses.replace(BASE, batch_size=7),  # a short last mini-batch
    ],
    ids=["plain", "l2", "l1", "clip", "momentum", "momentum-l1-clip", "short-last-batch"],
)
@pytest.mark.parametrize("seeds", [1, 3])
@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_float32_matches_float64_every_update(cfg, seeds, engine):
    _compare_float32_float64(cfg, engine=engine, seeds=seeds)


@pytest.mark.parametrize("seeds", [1, 3])
def test_fused_step_float32_matches_float64(seeds):
    """Without callbacks the CPU engine fuses the step into the GEMM (no state.grads to look
    at): the accuracy curves still agree, and the parameters to float32 rounding."""
    n32, n64 = _pair(seeds)
    r32 = _train(n32, BASE, "numpy")
    r64 = _train(n64, BASE, "numpy")
    assert (r32.accuracy - r64.accuracy).abs().max() <= 1e-4 + 1e-12
    for p, q in zip(n32.parameters(), n64.parameters()):
        torch.testing.assert_close(p.double(), q, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("callbacks", [False, True], ids=["fused", "with-callback"])
@pytest.mark.parametrize("seeds", [1, 3])
def test_same_seed_bit_identical(engine, callbacks, seeds):
    runs = []
    for _ in range(2):
        net = _net(torch.float32, seeds)
        r = _train(net, BASE, engine, [_Grads(0)] if callbacks else [])
        runs.append((r.accuracy, [p.detach().clone() for p in net.parameters()]))
    (acc_a, pa), (acc_b, pb) = runs
    assert torch.equal(acc_a, acc_b)
    for p, q in zip(pa, pb):
        assert torch.equal(p, q)


@pytest.mark.parametrize("seeds", [1, 3])
@pytest.mark.parametrize(
    "cfg", [BASE, dataclasses.replace(BASE, momentum=0.5, clip_norm=0.1)], ids=["l2", "mixed"]
)
def test_engines_agree_in_float64(cfg, seeds):
    nets = [_net(torch.float64, seeds) for _ in range(2)]
    results = [_train(net, cfg, e) for net, e in zip(nets, ("numpy", "torch"))]
    torch.testing.assert_close(results[0].accuracy, results[1].accuracy, rtol=0, atol=0)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-12)


def test_engine_choice(monkeypatch):
    monkeypatch.delenv(fastepoch.ENGINE_ENV, raising=False)
    best = "numba" if fastepoch.available() else "numpy"
    assert Trainer(_net(torch.float32), BASE).engine == best
    assert Trainer(_net(torch.float64), BASE).engine == "numpy"
    assert Trainer(_net(torch.float16), BASE).engine == "torch"
    # $GRADPROBE_ENGINE names the engine when it can run the network, else the usual order.
    monkeypatch.setenv(fastepoch.ENGINE_ENV, "torch")
    assert Trainer(_net(torch.float32), BASE).engine == "torch"
    monkeypatch.setenv(fastepoch.ENGINE_ENV, "NumPy")
    assert Trainer(_net(torch.float32), BASE).engine == "numpy"
    assert Trainer(_net(torch.float16), BASE).engine == "torch"
    monkeypatch.setenv(fastepoch.ENGINE_ENV, "numba")
    assert Trainer(_net(torch.float32), BASE).engine == best
    assert Trainer(_net(torch.float64), BASE).engine == "numpy"
    monkeypatch.setenv(fastepoch.ENGINE_ENV, "fortran")
    with pytest.raises(ValueError, match="GRADPROBE_ENGINE"):
        Trainer(_net(torch.float32), BASE)


@pytest.mark.parametrize(
    "cfg",
    [
        dataclasses.replace(BASE, lmbda=0.0),
        BASE,
        dataclasses.replace(BASE, regularization="l1"),
        dataclasses.replace(BASE, batch_size=7),  # a short last mini-batch
        dataclasses.replace(BASE, batch_size=1, epochs=1),
    ],
    ids=["plain", "l2", "l1", "short-last-batch", "batch-1"],
)
@pytest.mark.parametrize("seeds", [1, 3])
@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_matches_float64_without_callbacks(cfg, seeds, engine):
    """Each engine's own hot path (no callback, so the NumPy engine fuses for S > 1 and the
    compiled engine runs whole chunks) in float32 against the float64 trainer: accuracy curves
    within one point in ten thousand, parameters to float32 rounding."""
    n32, n64 = _pair(seeds)
    r32 = _train(n32, cfg, engine)
    r64 = _train(n64, cfg, "numpy")
    assert (r32.accuracy - r64.accuracy).abs().max() <= 1e-4 + 1e-12
    for p, q in zip(n32.parameters(), n64.parameters()):
        torch.testing.assert_close(p.double(), q, rtol=1e-4, atol=1e-5)


def test_openblas_threads_restored():
    from gradprobe.backprop import _openblas, blas_threads

    libs = _openblas()
    before = [lib.get() for lib in libs]
    with blas_threads(1):
        assert all(lib.get() == 1 for lib in libs)
    assert [lib.get() for lib in libs] == before


def test_cpu_engine_runs_one_thread_and_restores_the_callers_setting():
    """The thread policy: the CPU engine's epoch runs on one torch and one BLAS thread (a
    second one spins on a busy machine), and the caller's settings come back afterwards."""
    from gradprobe.backprop import _openblas

    seen = []

    class Spy(Callback):
        def on_batch_end(self, state):
            seen.append((torch.get_num_threads(), [lib.get() for lib in _openblas()]))

    torch.set_num_threads(2)
    blas_before = [lib.get() for lib in _openblas()]
    _train(_net(torch.float32, 3), dataclasses.replace(BASE, epochs=1), "numpy", [Spy()])
    assert torch.get_num_threads() == 2
    assert [lib.get() for lib in _openblas()] == blas_before
    assert seen and all(t == 1 and all(b == 1 for b in blas) for t, blas in seen)


# -- the compiled engine ("numba") ---------------------------------------------------------


def _compiled(net, batch=10):
    sgd = fastepoch.CompiledSGD(net.sizes, net.n_seeds, net.act, net.cost, batch)
    sgd.load(net.weights, net.biases)
    return sgd


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS, ids=[f"{o}+{c}" for o, c in PAIRS])
@pytest.mark.parametrize("b", [10, 7])
def test_numba_gradients_match_float64(activation, output, cost, b):
    """The kernels' BP1–BP4 (float32, blocked sums, fast-math reassociation) against the float64
    engine (itself checked against autograd): ‖g₃₂ − g₆₄‖ ≤ 1e-5·‖g₆₄‖ per tensor and seed."""
    pytest.importorskip("numba")
    n32, n64 = _pair(3, activation=activation, output=output, cost=cost)
    x = TRAIN[0][:b].float()
    y1h = torch.nn.functional.one_hot(TRAIN[1][:b], SIZES[-1])
    gw, gb = _compiled(n32).gradients(x.numpy(), y1h.float().numpy())
    ref = backprop(n64, x.double(), y1h.double())
    for g32, g64 in zip([*gw, *gb], [*ref.weight, *ref.bias]):
        g64 = g64 / b
        for s in range(3):
            got = torch.from_numpy(g32[s]).double()
            err = (got - g64[s]).norm() / g64[s].norm().clamp_min(1e-30)
            assert err <= 1e-5, f"seed {s}: relative gradient error {err:.2e}"


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS, ids=[f"{o}+{c}" for o, c in PAIRS])
def test_numba_short_run_matches_float64_every_activation_and_cost(activation, output, cost):
    pytest.importorskip("numba")
    eta = 0.05 if "linear" in (activation, output) or "relu" in activation else BASE.eta
    cfg = dataclasses.replace(BASE, eta=eta)
    kw = {"activation": activation, "output": output, "cost": cost}
    n32, n64 = _pair(2, **kw)
    r32 = _train(n32, cfg, "numba")
    r64 = _train(n64, cfg, "numpy")
    assert (r32.accuracy - r64.accuracy).abs().max() <= 1e-4 + 1e-12
    for p, q in zip(n32.parameters(), n64.parameters()):
        torch.testing.assert_close(p.double(), q, rtol=1e-4, atol=1e-5)


class _Steps(Callback):
    """Counts steps; with ``on_batch_end`` it also forces per-step gradients."""

    def __init__(self):
        self.n = 0

    def on_batch_end(self, state):
        self.n += 1


@pytest.mark.parametrize(
    ("cfg", "callback"),
    [
        (BASE, True),
        (dataclasses.replace(BASE, clip_norm=0.05), False),
        (dataclasses.replace(BASE, momentum=0.5), False),
    ],
    ids=["on_batch_end", "clip", "momentum"],
)
@pytest.mark.parametrize("seeds", [1, 3])
def test_numba_hands_per_step_work_to_numpy_bit_for_bit(cfg, callback, seeds):
    """What needs per-step gradients runs on the NumPy engine, exactly as if it were chosen."""
    pytest.importorskip("numba")
    runs = []
    for engine in ("numba", "numpy"):
        net = _net(torch.float32, seeds)
        cb = [_Steps()] if callback else []
        r = _train(net, cfg, engine, cb)
        runs.append((r.accuracy, [p.detach().clone() for p in net.parameters()]))
    (acc_a, pa), (acc_b, pb) = runs
    assert torch.equal(acc_a, acc_b)
    for p, q in zip(pa, pb):
        assert torch.equal(p, q)


def test_numba_chosen_automatically_only_for_fits_worth_loading_it(monkeypatch):
    """An automatic "numba" leaves small fits to NumPy (bit for bit); named, it always runs;
    above `NUMBA_MIN_SEED_STEPS` it runs when chosen automatically too."""
    pytest.importorskip("numba")
    train_module = importlib.import_module("gradprobe.train")  # (gradprobe.train is a function)

    monkeypatch.delenv(fastepoch.ENGINE_ENV, raising=False)
    x, y = TRAIN[0].float(), TRAIN[1]

    def fit(explicit):
        net = _net(torch.float32, 2)
        t = Trainer(net, BASE)
        assert t.engine == "numba"
        if explicit:
            t.engine = "numba"
        t.fit((x, y))
        return t, [p.detach().clone() for p in net.parameters()]

    small, p_small = fit(False)
    named, p_named = fit(True)
    assert small._compiled_sgd is None and named._compiled_sgd is not None
    numpy_net = _net(torch.float32, 2)
    _train(numpy_net, BASE, "numpy")
    assert all(torch.equal(p, q) for p, q in zip(p_small, numpy_net.parameters()))
    # 2 epochs × 20 steps × 2 seeds = 80 seed-steps: over a threshold of 80 it is used.
    monkeypatch.setattr(train_module, "NUMBA_MIN_SEED_STEPS", 80)
    big, p_big = fit(False)
    assert big._compiled_sgd is not None
    assert all(torch.equal(p, q) for p, q in zip(p_big, p_named))
    # $GRADPROBE_ENGINE=numba names it: it runs however small the fit.
    monkeypatch.setattr(train_module, "NUMBA_MIN_SEED_STEPS", 10**9)
    monkeypatch.setenv(fastepoch.ENGINE_ENV, "numba")
    forced, _ = fit(False)
    assert forced._compiled_sgd is not None


def test_numba_differs_from_numpy_in_rounding_only():
    """Without callbacks the compiled engine really runs (other roundings than the NumPy
    engine, so not bit-identical to it), and counts its steps."""
    pytest.importorskip("numba")
    nets = [_net(torch.float32, 3) for _ in range(2)]
    trainers = []
    for net, engine in zip(nets, ("numba", "numpy")):
        t = Trainer(net, BASE)
        t.engine = engine
        t.fit((TRAIN[0].float(), TRAIN[1]))
        trainers.append(t)
    assert not all(torch.equal(p, q) for p, q in zip(nets[0].parameters(), nets[1].parameters()))
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert trainers[0]._compiled_sgd is not None
    assert trainers[1]._compiled_sgd is None


def test_numba_nonfinite_parameters_are_reported():
    """NaN and ∞ propagate through the kernels (no nnan/ninf fast-math): divergence raises."""
    pytest.importorskip("numba")
    from gradprobe import NonFiniteError

    net = _net(torch.float32, 2)
    t = Trainer(net, dataclasses.replace(BASE, eta=1e30, epochs=1))
    t.engine = "numba"
    with pytest.raises(NonFiniteError):
        t.fit((TRAIN[0].float(), TRAIN[1]))


def test_numba_works_without_a_writable_cache(tmp_path):
    """No cache directory numba can write to: the kernels compile in memory and train."""
    pytest.importorskip("numba")
    env = dict(os.environ)
    env["NUMBA_CACHE_LOCATOR_CLASSES"] = "UserProvidedCacheLocator"
    env["NUMBA_CACHE_DIR"] = "/dev/null/no-cache"  # cannot be created, even by root
    src = Path(fastepoch.__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    code = textwrap.dedent(
        """
        import torch
        from gradprobe import Network, TrainConfig, Trainer, _numba_kernels
        assert not _numba_kernels.CACHED
        x = torch.rand(40, 12)
        y = torch.randint(0, 4, (40,))
        t = Trainer(Network([12, 5, 4], seeds=2, seed=1), TrainConfig(epochs=1))
        t.engine = "numba"
        t.fit((x, y))
        assert t._compiled_sgd is not None
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


def test_compiled_layout_round_trips():
    """`CompiledSGD.load` / `store` pack and unpack wˡ, bˡ exactly (no numba call)."""
    pytest.importorskip("numba")
    net = _net(torch.float32, 3)
    sgd = _compiled(net)
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        pw, pb = sgd._views(l)
        assert np.array_equal(pw, w.detach().numpy())
        assert np.array_equal(pb, b.detach().numpy())
    other = Network(SIZES, seeds=3, seed=8)
    sgd.store(other.weights, other.biases)
    for p, q in zip(net.parameters(), other.parameters()):
        assert torch.equal(p, q)


def test_numba_padding_columns_stay_zero():
    """Inside the kernels every layer's input is padded to `fastepoch.PAD` columns; the
    padding weights start at zero and training keeps them there (L2 and L1)."""
    pytest.importorskip("numba")
    x = TRAIN[0].float().numpy()
    y = torch.nn.functional.one_hot(TRAIN[1], SIZES[-1]).float().numpy()
    perm = np.stack([np.random.default_rng(s).permutation(len(x)) for s in range(3)])
    for l1 in (False, True):
        sgd = _compiled(_net(torch.float32, 3))
        assert list(sgd.widths) == [16, 16, 16, 4]
        sgd.run(x, y, perm, 0, 20, eta=0.5, c=1e-2, l1=l1)
        for l in range(len(SIZES) - 1):
            i, k, q = SIZES[l], SIZES[l + 1], int(sgd.widths[l])
            full = sgd.P[:, sgd.woff[l] : sgd.woff[l] + k * q].reshape(3, k, q)
            assert np.all(np.isfinite(full[:, :, :i])) and np.any(full[:, :, :i] != 0)
            assert np.all(full[:, :, i:] == 0)


def test_numba_byte_inputs_give_the_same_bits():
    """Inputs that are multiples of 1/256 (MNIST as loaded) go to the kernels as bytes: the
    same steps, bit for bit, as from float32; other inputs stay float32."""
    pytest.importorskip("numba")
    g = torch.Generator().manual_seed(5)
    x = (torch.randint(0, 256, (60, SIZES[0]), generator=g).float() / 256).numpy()
    codes = fastepoch.input_bytes(x)
    assert codes is not None and codes.dtype == np.uint8
    assert np.array_equal(codes.astype(np.float32) / 256, x)
    assert fastepoch.input_bytes(x + np.float32(1e-3)) is None
    assert fastepoch.input_bytes(np.full_like(x, 1.0)) is None  # 256/256: not a byte
    y = torch.nn.functional.one_hot(torch.randint(0, SIZES[-1], (60,), generator=g)).float()
    perm = np.stack([np.random.default_rng(s).permutation(60) for s in range(3)])
    results = []
    for inputs in (x, codes):
        sgd = _compiled(_net(torch.float32, 3), batch=7)
        sgd.run(inputs, y.numpy(), perm, 0, 9, eta=0.5, c=1e-3, l1=False)
        results.append(sgd.P.copy())
    assert np.array_equal(results[0], results[1])


@pytest.mark.parametrize(
    ("seeds", "epochs", "as_bytes"), [(1, 1, False), (2, 1, True), (1, 2, True)]
)
def test_numba_trainer_reads_bytes_when_the_data_are_read_twice(
    monkeypatch, seeds, epochs, as_bytes
):
    """Byte inputs only when seeds × epochs ≥ 2 (the conversion costs about one read); the
    result is the same either way, bit for bit."""
    pytest.importorskip("numba")
    seen = []
    real = fastepoch.input_bytes
    monkeypatch.setattr(fastepoch, "input_bytes", lambda x: seen.append(x.shape) or real(x))
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 256, (50, SIZES[0]), generator=g).float() / 256
    y = torch.randint(0, SIZES[-1], (50,), generator=g)
    runs = []
    for spy in (True, False):
        if not spy:
            monkeypatch.setattr(fastepoch, "input_bytes", lambda x: None)  # float32 inputs
        net = _net(torch.float32, seeds)
        t = Trainer(net, dataclasses.replace(BASE, epochs=epochs))
        t.engine = "numba"
        t.fit((x, y))
        runs.append([p.detach().clone() for p in net.parameters()])
    assert (len(seen) == 1) == as_bytes  # once per fit, not per epoch
    assert all(torch.equal(p, q) for p, q in zip(*runs))


def test_naming_an_engine_that_cannot_run_the_network_is_refused(monkeypatch):
    """The setter checks the network, so a misnamed engine fails at once with a reason
    instead of crashing inside the first epoch (e.g. "numpy" for a network on a GPU)."""
    from gradprobe.errors import ConfigError

    t = Trainer(_net(torch.float64), BASE)
    with pytest.raises(ConfigError, match="unknown engine 'fast'"):
        t.engine = "fast"
    with pytest.raises(ConfigError, match=r"'numba' cannot run this network.*float32.*float64"):
        t.engine = "numba"  # the compiled engine is float32 only
    t.engine = "numpy"  # float64 on the CPU: fine
    assert t.engine == "numpy"
    monkeypatch.setattr(fastepoch, "available", lambda: False)
    with pytest.raises(ConfigError, match="numba is not installed"):
        Trainer(_net(torch.float32), BASE).engine = "numba"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_engines_are_refused_for_a_gpu_network():
    from gradprobe.errors import ConfigError

    t = Trainer(_net(torch.float32, device="cuda"), BASE)
    assert t.engine == "torch"
    for name in ("numpy", "numba"):
        with pytest.raises(ConfigError, match="on cuda"):
            t.engine = name
