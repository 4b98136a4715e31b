"""Probe an LSTM language-style model through time: how much gradient reaches early tokens?

A two-layer LSTM reads synthetic token sequences (a vocabulary of 16; each token repeats the one
``LAG`` positions earlier with probability 0.8, so the task needs memory) and predicts the next
token. `gradprobe.recurrent.TimestepGradients` records ‖∂L/∂h_t‖ for every position t of every
layer — the total derivative through all later steps — for the loss of the *last* prediction
only, so the profile shows how far back one prediction's gradient reaches. `analyze` reduces
each layer's profile to a factor per step and an effective memory; `findings` names the layers
whose gradient vanishes or explodes through time, with remedies.

We compare PyTorch's default LSTM (forget gate ≈ σ(0) = ½ at init) with forget-gate bias 1
(Jozefowicz et al. 2015), at init and after a few hundred Adam steps. Runs in seconds.

The same measurement, lighter, runs inside the probe: ``gradprobe.watch`` taps the input of
every stacked layer of every RNN/LSTM/GRU and records ‖∂L/∂x_t‖ per t for the *training* loss
(quantity
``ThroughTime``: columns ``time_ratio``, ``time_decay``, ``time_memory``), and
``probe.diagnose()`` reports ``vanishing-through-time``/``exploding-through-time``. The
training loss here is on every position, so each step also gets its own direct gradient (and
the earliest input collects the gradient of every later prediction): the probe's ratio is not
small, and says nothing about memory — the unrolled, last-prediction-only profile above is the
one that shows it.

Run:  python examples/05_probe_lstm.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import gradprobe
from gradprobe import recurrent as rc

VOCAB, T, LAG, HIDDEN, STEPS = 16, 50, 5, 64, 80


class TinyLM(nn.Module):
    """tokens [B, T] → next-token logits [B, T, VOCAB]."""

    def __init__(self, seed: int, forget_bias: float | None) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(VOCAB, 32)
        self.lstm = nn.LSTM(32, HIDDEN, num_layers=2, batch_first=True)
        self.out = nn.Linear(HIDDEN, VOCAB)
        if forget_bias is not None:
            rc.set_forget_bias(self.lstm, forget_bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.embed(tokens))
        return self.out(h)  # type: ignore[no-any-return]


def batch(n: int, g: torch.Generator) -> torch.Tensor:
    """[n, T + 1] tokens: each repeats the one LAG earlier with probability 0.8."""
    x = torch.randint(0, VOCAB, (n, T + 1), generator=g)
    keep = torch.rand(n, T + 1, generator=g) < 0.8
    for t in range(LAG, T + 1):
        x[:, t] = torch.where(keep[:, t], x[:, t - LAG], x[:, t])
    return x


def report(title: str, model: TinyLM, tokens: torch.Tensor) -> None:
    """Measure the last prediction's ‖∂L/∂h_t‖ for every t and layer; print what it says."""
    with rc.TimestepGradients(model.lstm) as tg:
        logits = model(tokens[:, :-1])
        F.cross_entropy(logits[:, -1], tokens[:, -1]).backward()  # the last prediction only
    model.zero_grad(set_to_none=True)
    prof = tg.profile()
    print(f"\n{title}")
    for a in rc.analyze(prof):
        print(f"  {a.message}")
    found = tg.findings()  # remedies fitting an LSTM
    for f in found:
        print(f"  finding: {f['kind']} ({f['severity']}) in {f['layer']}")
    if found:
        print("  remedies: " + "; ".join(found[0]["remedies"]))
    elif prof:
        print("  no finding: the gradient reaches the first token")


def main() -> None:
    torch.set_num_threads(1)
    g_probe = torch.Generator().manual_seed(123)
    probe_tokens = batch(32, g_probe)
    for name, fb in (("PyTorch default LSTM", None), ("LSTM, forget-gate bias 1", 1.0)):
        model = TinyLM(0, fb)
        report(f"{name}, at init", model, probe_tokens)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        g = torch.Generator().manual_seed(1)
        with gradprobe.watch(model, detail_every=10) as probe:
            for _ in range(STEPS):
                x = batch(32, g)
                loss = F.cross_entropy(model(x[:, :-1]).reshape(-1, VOCAB), x[:, 1:].reshape(-1))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                probe.step()
                opt.step()
        df = probe.history
        ratios = df[df.quantity == "time_ratio"].groupby("layer").value.median()  # per layer
        through = [f for f in probe.diagnose() if f.kind.endswith("through-time")]
        print(
            f"\n{name}, probe during training (loss on every position): median "
            "‖∂L/∂x_0‖/‖∂L/∂x_T-1‖ at each stacked layer's input: "
            + ", ".join(f"{layer} {r:.3g}" for layer, r in ratios.items())
            + "; "
            + ("; ".join(str(f) for f in through) if through else "no through-time finding")
        )
        report(
            f"{name}, after {STEPS} steps (train loss {float(loss.detach()):.3f})",
            model,
            probe_tokens,
        )


if __name__ == "__main__":
    main()
