"""Train eight networks at once and watch each layer's speed of learning as they train.

A `Callback` measures ‖∂C/∂bˡ‖ before every epoch — the trainer knows nothing of probes, it
just calls back. Runs on the bundled 1000 images in a few seconds.

    python examples/03_train_many_seeds.py
"""

import gradprobe
from gradprobe.data import load_bundled

data = load_bundled()
x, labels = data.training.images, data.training.labels


class SpeedLog(gradprobe.Callback):
    def __init__(self) -> None:
        self.rows: list[list[float]] = []

    def on_epoch_begin(self, state: gradprobe.TrainState) -> None:
        self.rows.append(gradprobe.learning_speed(state.net, x, labels).median.tolist())


net = gradprobe.Network([784, 30, 30, 10], seeds=8)
log = SpeedLog()
result = gradprobe.train(
    net,
    data.training,
    gradprobe.TrainConfig(epochs=8, batch_size=10, eta=0.5, lmbda=1.0),
    evaluation=data.test,
    callbacks=[log],
)
print("epoch  median ‖δ¹‖ ‖δ²‖   test accuracy (mean of 8 seeds)")
for epoch, (speeds, acc) in enumerate(zip(log.rows, result.accuracy.mean(0).tolist())):
    print(f"{epoch:>5}  " + " ".join(f"{s:.4f}" for s in speeds) + f"   {100 * acc:.1f}%")
