"""The trainer's two engines against each other and against float64.

The CPU engine (`PackedStep`, NumPy/OpenBLAS, packed [wˡ | bˡ], the SGD step fused into the
weight-gradient GEMM) and the torch engine (`compile_step`, any device) compute the same
equations with other roundings. Here, for every configuration:

* float32 against the float64 trainer (itself checked against torch.autograd to 1e-12 in
  test_train.py): each step's gradients (``state.grads``, the mean-cost gradient) within 1e-5
  relative in norm per tensor, ‖g₃₂ − g₆₄‖ ≤ 1e-5·‖g₆₄‖, and the accuracy curve of a short run on
  10 000 evaluation points equal within one point in ten thousand;
* the same seed gives bit-identical parameters and accuracies (same machine, same engine);
* both engines agree on float64 to 1e-12.
"""

import dataclasses

import pytest
import torch

from gradprobe import Callback, Network, TrainConfig, Trainer
from gradprobe.activations import ACTIVATIONS
from gradprobe.costs import PAIRS

SIZES = [12, 9, 7, 4]


@pytest.fixture(autouse=True)
def _one_thread():
    """The project's thread policy (one intra-op thread); restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


@pytest.mark.parametrize("engine", ["numpy", "torch"])
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


def test_engine_choice():
    assert Trainer(_net(torch.float32), BASE).engine == "numpy"
    assert Trainer(_net(torch.float16), BASE).engine == "torch"


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
