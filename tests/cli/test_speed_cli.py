"""`gradprobe speed`, in-process, on the bundled first 1000 training images."""

import json

import pytest

from gradprobe.cli.main import main


def test_speed_json(capsys):
    assert main(["speed", "--sizes", "784,30,30,10", "--seeds", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sizes"] == [784, 30, 30, 10] and len(out["seeds"]) == 20
    per_seed = out["per_seed"]
    assert len(per_seed) == 20 and all(len(s) == 2 for s in per_seed)
    assert out["book"] == [0.07, 0.31]
    assert out["median"][0] < out["median"][1]  # the vanishing gradient


def test_speed_table(capsys):
    assert (
        main(["speed", "--sizes", "784,30,30,30,30,10", "--seeds", "10", "--samples", "200"]) == 0
    )
    out = capsys.readouterr().out
    assert "hidden layer" in out and "last / first" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--sizes", "784,10"],
        ["--sizes", "50,30,10"],
        ["--sizes", "784,30,30,5"],
        ["--sizes", "784,30,30,11"],
        ["--device", "tpu"],
        ["--samples", "5000", "--data", "bundled"],
        ["--seeds", "0"],
        ["--init", "zeros"],
    ],
)
def test_speed_bad_input(capsys, argv):
    try:
        code = main(["speed", *argv])
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_speed_median_is_numpys_and_inside_its_band(capsys):
    """An even number of seeds: the median is the mean of the two middle values (numpy), not
    torch.median's lower one, so q10 ≤ median ≤ q90 always (tolerance 1e-12)."""
    import numpy as np

    assert (
        main(["speed", "--sizes", "784,5,5,10", "--seeds", "4", "--samples", "50", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    per_seed = np.array(out["per_seed"])
    assert np.allclose(out["median"], np.median(per_seed, axis=0), rtol=0, atol=1e-12)
    for lo, mid, hi in zip(out["q10"], out["median"], out["q90"]):
        assert lo <= mid <= hi
