"""The scoreboard counts by kind; rows with nothing to judge are never counted as failures."""

from gradprobe.results import Comparison, scoreboard


def test_unjudged_checks_and_predictions_are_not_counted_as_failures() -> None:
    rows = [
        Comparison.reproduction("book", [1.0, 2.0, 3.0, 4.0, 5.0], 3.0, "ch. 5"),
        Comparison.identity("σ′(0)", 0.25, 0.25, 0.0),
        Comparison("a bound", "bound", 0.9, 1.0, relation="<="),
        Comparison("no bound here", "bound", 0.9, None, relation="<="),
        Comparison.prediction("theory", [1.0, 2.0, 3.0, 4.0, 5.0], 9.0, "mean-field"),
    ]
    board = scoreboard(rows)
    assert (board.reproductions_inside, board.reproductions_judged) == (1, 1)
    assert (board.checks_passed, board.checks, board.unjudged) == (2, 2, 1)
    assert (board.predictions_inside, board.predictions) == (0, 1)
    assert board.headline.startswith("1 of 1 numbers the book prints")
