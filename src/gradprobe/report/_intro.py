"""The report's fixed introduction: why gradients vanish or explode, and why cross-entropy helps.

This is our own trusted HTML (no result data goes in here).
"""

INTRO_HTML = """
<div class="prose">
<p>Train a deep network of sigmoid neurons with plain gradient descent and its early layers
barely move: their gradients are far smaller than those of the layers near the output.
Nielsen's chapter&nbsp;5 explains why with the simplest deep network there is, a chain of
single neurons with weights w<sub>j</sub>, biases b<sub>j</sub> and weighted inputs
z<sub>j</sub>. The gradient for the first bias is a product with one factor per layer:</p>
</div>
<div class="eq" role="math" aria-label="dC/db1 = sigma'(z1) w2 sigma'(z2) w3 sigma'(z3) w4
sigma'(z4) dC/da4">∂C/∂b₁ = σ′(z₁) · w₂σ′(z₂) · w₃σ′(z₃) · w₄σ′(z₄) · ∂C/∂a₄</div>
<div class="callouts">
  <div class="callout"><b>Small weights: the gradient vanishes</b>
    The sigmoid's slope never exceeds ¼ (its peak, at z = 0). With the usual initial weights
    |w<sub>j</sub>| &lt; 1 every factor is small,
    <div class="eq">|w<sub>j</sub> σ′(z<sub>j</sub>)| &lt; ¼</div>
    so the gradient shrinks at least fourfold per layer on its way toward the input.</div>
  <div class="callout"><b>Large weights: the gradient explodes</b>
    Make the weights large instead, say w = 100 with biases that keep z = 0, and each factor is
    <div class="eq">w σ′(0) = 100 × ¼ = 25</div>
    so the gradient grows 25-fold per layer. Vanishing or exploding, the gradient of an early
    layer is a product of many terms: it is <em>unstable</em>.</div>
  <div class="callout"><b>Learning slowdown: cross-entropy removes σ′</b>
    With the quadratic cost the output error carries the slope,
    <div class="eq">δ<sup>L</sup> = (a − y) σ′(z<sup>L</sup>)</div>
    so a saturated, badly wrong neuron learns slowest. With cross-entropy it cancels:
    <div class="eq">δ<sup>L</sup> = a − y</div></div>
</div>
<div class="prose">
<p>Each section below reproduces one of the book's experiments: what we found, our figures
(drawn from the result's data), and our numbers beside the book's. Three kinds of rows are kept
apart. <b>Numbers the book prints</b> are the only ones counted as agreement: a ✓ means the
book's number lies inside our seed band, the 10–90 % range of single runs over seeds (each of
the book's numbers is one run), and every row names its band. <b>Checks</b> are values true
by construction (σ′(0) = ¼, δ<sup>L</sup> = a − y) or one-sided bounds: they test our code,
not the book. <b>Theory</b> rows put a prediction beside our band.</p>
</div>
"""
