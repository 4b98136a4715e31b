"""The optional integrations: Lightning and Hugging Face callbacks, the TensorBoard sink and
CSV/Parquet export. Each test is skipped when its framework is not installed."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.probe.integrations import scalar_tags
from probe.probe_models import hook_state, mlp, train


def test_importing_integrations_imports_no_framework():
    code = (
        "import sys, gradprobe, gradprobe.probe.integrations as i; "
        "bad = [m for m in ('lightning', 'transformers', 'tensorboard', "
        "'torch.utils.tensorboard') if m in sys.modules]; "
        "assert not bad, bad; assert callable(i.scalar_tags)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_scalar_tags_flattens_and_filters():
    recs = {"0": {"speed": 1.0, "grad_norm": 2.0, "grad_norm.weight": 3.0}, "(model)": {}}
    assert scalar_tags(recs) == {
        "gradprobe/speed/0": 1.0,
        "gradprobe/grad_norm/0": 2.0,
        "gradprobe/grad_norm.weight/0": 3.0,
    }
    assert scalar_tags(recs, ("grad_norm",), prefix="p") == {
        "p/grad_norm/0": 2.0,
        "p/grad_norm.weight/0": 3.0,
    }


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_history_export_round_trip(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow", reason="Parquet export needs pyarrow")
    model = mlp([10, 12, 9, 4], nn.Tanh)
    probe = gp.watch(model)
    train(model, probe, steps=3)
    probe.close()
    path = probe.save(tmp_path / f"history{suffix}")
    back = gp.load_history(path)
    df = probe.history
    assert list(back.columns) == ["step", "layer", "quantity", "value"]
    assert len(back) == len(df) and set(back.step) == {0, 1, 2}
    assert back.value.tolist() == pytest.approx(df.value.tolist(), nan_ok=True)
    assert back.attrs["gradprobe"]["order"] == probe.layer_names


def test_tensorboard_sink_writes_per_layer_scalars(tmp_path):
    pytest.importorskip("tensorboard", reason="TensorBoardSink needs tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gradprobe.probe.integrations import TensorBoardSink

    model = mlp([10, 12, 9, 4], nn.Sigmoid)
    with TensorBoardSink(tmp_path) as sink, gp.watch(model, sinks=[sink], flush_every=2) as p:
        train(model, p, steps=3)
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    for layer in ("0", "2", "4"):
        assert f"gradprobe/speed/{layer}" in tags
        assert f"gradprobe/grad_norm/{layer}" in tags
    assert "gradprobe/grad_norm/(model)" in tags
    assert "gradprobe/saturation/0" in tags  # the Sigmoid fed by layer 0
    events = acc.Scalars("gradprobe/speed/4")
    assert [e.step for e in events] == [0, 1, 2]
    df = p.history
    want = df[(df.layer == "4") & (df.quantity == "speed")].value.tolist()
    assert [e.value for e in events] == pytest.approx(want, rel=1e-6)


def test_lightning_callback_records_logs_and_removes_hooks(tmp_path):
    pl = pytest.importorskip("lightning.pytorch", reason="GradprobeCallback needs lightning")
    from lightning.pytorch.loggers import CSVLogger

    from gradprobe.probe.integrations import GradprobeCallback

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp([10, 12, 9, 4], nn.ReLU)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    g = torch.Generator().manual_seed(0)
    ds = torch.utils.data.TensorDataset(
        torch.randn(40, 10, generator=g), torch.randint(0, 4, (40,))
    )
    loader = torch.utils.data.DataLoader(ds, batch_size=8)
    module = Module()
    before = hook_state(module)
    cb = GradprobeCallback(
        quantities=("speed", "grad_norm", "update_ratio"),
        save_to=tmp_path / "h.csv",
        detail_every=2,
    )
    trainer = pl.Trainer(
        max_steps=4,
        accelerator="cpu",
        callbacks=[cb],
        logger=CSVLogger(tmp_path, name="csv"),
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(module, loader)
    assert cb.probe is not None and cb.probe.closed
    assert cb.probe.steps_taken == 4
    df = cb.probe.history
    assert sorted(set(df.step)) == [0, 1, 2, 3]
    assert {"net.0", "net.2", "net.4"} <= set(df.layer)
    assert hook_state(module) == before  # the probe left no hook behind
    assert set(gp.load_history(tmp_path / "h.csv").step) == {0, 1, 2, 3}
    import pandas as pd

    metrics = pd.read_csv(tmp_path / "csv" / "version_0" / "metrics.csv")
    assert "gradprobe/speed/net.4" in metrics and "gradprobe/grad_norm/net.0" in metrics
    assert "gradprobe/grad_rms/net.0" not in metrics  # filtered by quantities
    # every step's values at Lightning's step numbering, detail quantities where measured
    for quantity, layer in (("speed", "net.4"), ("update_ratio", "net.0")):
        col = metrics[["step", f"gradprobe/{quantity}/{layer}"]].dropna()
        want = df[(df.layer == layer) & (df.quantity == quantity)]
        assert col.step.tolist() == want.step.tolist()
        assert col.iloc[:, 1].to_numpy() == pytest.approx(want.value.to_numpy(), rel=1e-6)
    assert sorted(set(df[df.quantity == "update_ratio"].step)) == [2]


def test_hf_trainer_callback_records_logs_and_removes_hooks(tmp_path):
    transformers = pytest.importorskip(
        "transformers", reason="GradprobeTrainerCallback needs transformers"
    )
    pytest.importorskip("accelerate", reason="transformers.Trainer needs accelerate")
    from gradprobe.probe.integrations import GradprobeTrainerCallback

    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)  # built offline, no download
    before = hook_state(model)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 50, (12, 8), generator=g)
    ds = [
        {"input_ids": i, "attention_mask": torch.ones(8, dtype=torch.long), "labels": i[0] % 2}
        for i in ids
    ]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=3,
        per_device_train_batch_size=4,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    cb = GradprobeTrainerCallback(
        quantities=("speed", "grad_norm"), tensorboard_dir=tmp_path / "tb"
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=ds, callbacks=[cb])
    cb.run_first(trainer)
    assert trainer.callback_handler.callbacks[0] is cb
    trainer.train()
    assert cb.probe is not None and cb.probe.closed
    assert cb.probe.steps_taken == 3
    df = cb.probe.history
    assert sorted(set(df.step)) == [0, 1, 2]
    assert "classifier" in set(df.layer)
    assert hook_state(model) == before
    logged = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logged) == 3
    # the console gets a summary; the pre-clip norm means what the Trainer's grad_norm means
    for h in logged:
        keys = [k for k in h if k.startswith("gradprobe/")]
        assert 0 < len(keys) <= 5, keys
        assert h["gradprobe/grad_norm_preclip"] == pytest.approx(h["grad_norm"], rel=1e-4)
    # everything else reaches TensorBoard at the Trainer's step numbering (probe step + 1)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    events = acc.Scalars("gradprobe/speed/classifier")
    assert [e.step for e in events] == [1, 2, 3]
    want = df[(df.layer == "classifier") & (df.quantity == "speed")].value.tolist()
    assert [e.value for e in events] == pytest.approx(want, rel=1e-6)
