"""The book's costs and their output errors δᴸ (BP1)."""

import pytest
import torch

from gradprobe import ConfigError, get_cost
from gradprobe.costs import PAIRS


@pytest.mark.parametrize(("output", "cost"), PAIRS)
def test_delta_is_autograd_of_cost(output, cost):
    c = get_cost(cost, output)
    z = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.one_hot(torch.randint(0, 4, (7,)), 4).double()
    a = c.output_fn(z)
    c.per_example(a, y).sum().backward()
    torch.testing.assert_close(c.delta(a.detach(), y), z.grad, rtol=0, atol=1e-12)


def test_delta_is_a_minus_y_except_quadratic_sigmoid():
    z = torch.randn(5, 3, dtype=torch.float64)
    y = torch.rand(5, 3, dtype=torch.float64)
    for output, cost in PAIRS:
        c = get_cost(cost, output)
        a = c.output_fn(z)
        expected = (a - y) * a * (1 - a) if (output, cost) == ("sigmoid", "quadratic") else a - y
        torch.testing.assert_close(c.delta(a, y), expected, rtol=0, atol=1e-15)


def test_cost_values_match_the_book():
    a = torch.tensor([[0.8, 0.1]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    assert get_cost("quadratic").per_example(a, y).item() == pytest.approx(0.5 * (0.04 + 0.01))
    ce = -(torch.log(torch.tensor(0.8)) + torch.log(torch.tensor(0.9))).item()
    assert get_cost("cross-entropy").per_example(a, y).item() == pytest.approx(ce, rel=1e-6)
    assert get_cost("log-likelihood").per_example(a, y).item() == pytest.approx(
        -torch.log(torch.tensor(0.8)).item(), rel=1e-6
    )


def test_cross_entropy_is_finite_when_saturated():
    a = torch.tensor([[1.0, 0.0]])
    y = torch.tensor([[1.0, 0.0]])
    assert get_cost("cross-entropy").per_example(a, y).item() == 0.0


def test_default_pairings_and_errors():
    assert get_cost("log-likelihood").output == "softmax"
    assert get_cost("cross-entropy").output == "sigmoid"
    assert get_cost("quadratic", "linear").output == "linear"
    with pytest.raises(ConfigError, match="unknown cost"):
        get_cost("hinge")
    with pytest.raises(ConfigError, match="does not pair"):
        get_cost("cross-entropy", "softmax")
