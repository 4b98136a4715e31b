"""SGD as network2 does it, for many seeds at once."""

import dataclasses

import pytest
import torch

from gradprobe import Callback, ConfigError, Network, NonFiniteError, TrainConfig, Trainer, train
from gradprobe.activations import ACTIVATIONS
from gradprobe.costs import PAIRS


def _data(n=60, n_in=12, n_out=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, n_in, generator=g, dtype=torch.float64)
    y = torch.randint(0, n_out, (n,), generator=g)
    return x, y


def _net(seeds=1, **kw):
    kw.setdefault("dtype", torch.float64)
    return Network([12, 7, 5, 4], seeds=seeds, **kw)


def _reference_epoch(net, x, y, cfg, perm, record=None):
    """One epoch with autograd gradients and the update rule written out plainly (one seed).

    ``record``: a list that receives each step's gradients (mean cost, after clipping)."""
    n, m = x.shape[0], cfg.batch_size
    y1h = torch.nn.functional.one_hot(y, 4).double()
    params = [*net.weights, *net.biases]
    velocity = [torch.zeros_like(p) for p in params]
    for i in range(0, n, m):
        idx = perm[i : i + m]
        net.zero_grad()
        net.cost_fn(net(x[idx]), y1h[idx]).backward()
        grads = [p.grad.clone() for p in params]
        if cfg.clip_norm is not None:
            norm = torch.sqrt(sum((g**2).sum() for g in grads))
            grads = [g * min(1.0, cfg.clip_norm / (norm.item() + 1e-12)) for g in grads]
        if record is not None:
            record.append(grads)
        with torch.no_grad():
            for k, (p, g) in enumerate(zip(params, grads)):
                is_weight = k < len(net.weights)
                reg = 0.0
                if is_weight and cfg.lmbda:
                    reg = (cfg.lmbda / n) * (p if cfg.regularization == "l2" else torch.sign(p))
                velocity[k] = cfg.momentum * velocity[k] - cfg.eta * (g + reg)
                p.add_(velocity[k])


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(epochs=1, batch_size=7, eta=0.5, lmbda=0.0),
        TrainConfig(epochs=1, batch_size=10, eta=0.3, lmbda=5.0),
        TrainConfig(epochs=1, batch_size=10, eta=0.3, lmbda=5.0, regularization="l1"),
        TrainConfig(epochs=1, batch_size=8, eta=0.2, lmbda=1.0, momentum=0.9),
        TrainConfig(epochs=1, batch_size=10, eta=0.3, clip_norm=0.05),
    ],
    ids=["plain", "l2", "l1", "momentum", "clip"],
)
def test_one_epoch_equals_autograd_sgd(cfg):
    x, y = _data()
    ours, ref = _net(seed=3), _net(seed=3)
    trainer = Trainer(ours, cfg)
    perm = torch.randperm(
        60, generator=torch.Generator().set_state(trainer.generators[0].get_state())
    )
    trainer.fit((x, y))
    _reference_epoch(ref, x, y, cfg, perm)
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


class _Grads(Callback):
    """Copies ``state.grads`` after every step."""

    def __init__(self):
        self.steps = []

    def on_batch_end(self, state):
        self.steps.append([g.clone() for g in state.grads])


def _check_against_autograd(activation, output, cost, cfg, init="default"):
    x, y = _data()
    kw = dict(activation=activation, cost=cost, output=output, init=init, seed=4)
    ours, ref = _net(**kw), _net(**kw)
    spy = _Grads()
    trainer = Trainer(ours, cfg, callbacks=[spy])
    perm = torch.randperm(
        60, generator=torch.Generator().set_state(trainer.generators[0].get_state())
    )
    trainer.fit((x, y))
    expected = []
    _reference_epoch(ref, x, y, cfg, perm, record=expected)
    assert len(spy.steps) == len(expected) == 6  # 60 examples, batch 10
    for step, (got, want) in enumerate(zip(spy.steps, expected)):
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-12, msg=f"step {step}")
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS, ids=[f"{o}+{c}" for o, c in PAIRS])
def test_every_activation_cost_output_trains_as_autograd(activation, output, cost):
    """Every combination the trainer accepts, float64: each step's gradients (state.grads) and
    the parameters after one epoch equal torch.autograd's. A wrong σ′ for any hidden
    activation, a wrong δᴸ for any output/cost pair or a wrong scale fails here."""
    cfg = TrainConfig(epochs=1, batch_size=10, eta=0.05, lmbda=1.0)
    _check_against_autograd(activation, output, cost, cfg)


@pytest.mark.parametrize("clip", [None, 0.05, 1e6], ids=["no-clip", "clipping", "clip-inactive"])
def test_grads_have_one_scale_with_and_without_clipping(clip):
    """state.grads is the mean-cost gradient (after clipping) whether clipping is on or off."""
    cfg = TrainConfig(epochs=1, batch_size=10, eta=0.3, clip_norm=clip, momentum=0.5)
    _check_against_autograd("tanh", "sigmoid", "cross-entropy", cfg)


def test_relu_nets_have_dead_and_live_units():
    """The ReLU check above is not vacuous: both branches of σ′ occur in the first layer."""
    x, _ = _data()
    net = _net(activation="relu", seed=4)
    z = net.layers[0](x)
    assert (z > 0).any() and (z < 0).any()


def test_network2_l2_form():
    """w ← (1 − ηλ/n)·w − η·g for one full batch."""
    x, y = _data(n=20)
    net = _net(seed=1)
    w0 = net.weights[0].detach().clone()
    net.zero_grad()
    net.cost_fn(net(x), torch.nn.functional.one_hot(y, 4).double()).backward()
    g = net.weights[0].grad.clone()
    train(net, (x, y), TrainConfig(epochs=1, batch_size=20, eta=0.5, lmbda=2.0))
    torch.testing.assert_close(net.weights[0].detach(), (1 - 0.5 * 2.0 / 20) * w0 - 0.5 * g)


def test_same_seed_same_numbers_and_seeds_batch_like_alone():
    x, y = _data()
    cfg = TrainConfig(epochs=2, batch_size=10, eta=0.5, lmbda=1.0)
    a, b = _net(seeds=3, seed=5), _net(seeds=3, seed=5)
    ra = train(a, (x, y), cfg, evaluation=(x, y))
    rb = train(b, (x, y), cfg, evaluation=(x, y))
    assert torch.equal(ra.accuracy, rb.accuracy)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    alone = _net(seeds=1, seed=6)
    train(alone, (x, y), cfg)
    for p, q in zip(a.parameters(), alone.parameters()):
        torch.testing.assert_close(p[1], q[0], rtol=0, atol=1e-12)


def test_result_shapes_and_callbacks():
    x, y = _data()
    seen = []

    class Spy(Callback):
        def on_epoch_begin(self, state):
            seen.append(("begin", state.epoch))

        def on_batch_end(self, state):
            assert len(state.grads) == 6

        def on_epoch_end(self, state):
            seen.append(("end", state.epoch, state.step))

    r = train(
        _net(seeds=2),
        (x, y),
        TrainConfig(epochs=3, batch_size=25),
        evaluation=(x, y),
        callbacks=[Spy()],
    )
    assert r.accuracy.shape == (2, 3) and len(r.seconds_per_epoch) == 3
    assert seen == [
        ("begin", 0),
        ("end", 1, 3),
        ("begin", 1),
        ("end", 2, 6),
        ("begin", 2),
        ("end", 3, 9),
    ]


def test_callback_can_stop_training():
    class Stop(Callback):
        def on_epoch_end(self, state):
            state.stop = True

    r = train(_net(), _data(), TrainConfig(epochs=5), callbacks=[Stop()])
    assert r.epochs == 1


def test_resume_gives_the_same_result(tmp_path):
    x, y = _data()
    cfg = TrainConfig(epochs=3, batch_size=10, eta=0.5, momentum=0.5, lmbda=1.0)
    full = _net(seeds=2)
    r_full = train(full, (x, y), cfg, evaluation=(x, y))
    ckpt = tmp_path / "ck.safetensors"
    part = _net(seeds=2)
    train(part, (x, y), dataclasses.replace(cfg, epochs=1), evaluation=(x, y), checkpoint=ckpt)
    resumed = _net(seeds=2)  # a fresh process would start from scratch …
    r = train(resumed, (x, y), cfg, evaluation=(x, y), checkpoint=ckpt, resume=True)  # … and resume
    assert r.epochs == 3
    torch.testing.assert_close(r.accuracy, r_full.accuracy)
    for p, q in zip(full.parameters(), resumed.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_resume_refuses_other_settings(tmp_path):
    ckpt = tmp_path / "ck.safetensors"
    train(_net(), _data(), TrainConfig(epochs=1), checkpoint=ckpt)
    with pytest.raises(ConfigError, match="other settings"):
        train(_net(), _data(), TrainConfig(epochs=2, eta=0.01), checkpoint=ckpt, resume=True)


def test_divergence_raises_nonfinite():
    net = _net(init="large", activation="linear", cost="quadratic", output="linear")
    with pytest.raises(NonFiniteError, match="eta"):
        train(net, _data(), TrainConfig(epochs=3, eta=1e6))


@pytest.mark.parametrize(
    "kw",
    [
        dict(epochs=0),
        dict(batch_size=0),
        dict(eta=-1.0),
        dict(eta=float("nan")),
        dict(lmbda=-1.0),
        dict(momentum=1.0),
        dict(clip_norm=0.0),
        dict(regularization="l3"),
    ],
)
def test_bad_config(kw):
    with pytest.raises(ConfigError):
        TrainConfig(**kw)


def test_input_width_mismatch():
    with pytest.raises(ConfigError, match="input layer"):
        train(_net(), (torch.rand(10, 5, dtype=torch.float64), torch.zeros(10, dtype=torch.long)))


def test_float32_training_learns():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 12, generator=g)
    y = (x[:, 0] > x[:, 1]).long()  # a learnable rule
    net = Network([12, 10, 2], seeds=2)
    r = train(net, (x, y), TrainConfig(epochs=15, batch_size=10, eta=1.0), evaluation=(x, y))
    assert (r.accuracy[:, -1] > 0.9).all()
