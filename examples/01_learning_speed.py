"""Chapter 5 in twenty lines: early layers learn slower than later ones.

Builds 50 freshly initialised [784, 30, 30, 30, 30, 10] sigmoid networks at once and measures
each hidden layer's speed of learning ‖∂C/∂bˡ‖ over the first 1000 training images (which ship
with gradprobe, so nothing is downloaded). Then does the same with ReLU and He initialisation.

    python examples/01_learning_speed.py
"""

import gradprobe
from gradprobe.book import INITIAL_SPEED
from gradprobe.data import load_bundled

images = load_bundled().training  # the first 1000 training images, x: [1000, 784]
sizes = (784, 30, 30, 30, 30, 10)

for activation, init in [("sigmoid", "default"), ("relu", "he")]:
    net = gradprobe.Network(sizes, activation, init=init, seeds=50)
    speed = gradprobe.learning_speed(net, images.images, images.labels)  # .speed: [50, 4]
    lo, hi = speed.quantile(0.1), speed.quantile(0.9)
    print(f"\n{activation} + {init} init: ‖δˡ‖ median [10–90 %] over 50 seeds")
    for l, med in enumerate(speed.median.tolist()):
        print(f"  hidden layer {l + 1}: {med:.4f}  [{lo[l]:.4f}–{hi[l]:.4f}]")

print("\nthe book (one sigmoid run):", INITIAL_SPEED[sizes])
