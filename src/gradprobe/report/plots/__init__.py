"""One figure per file. Each module takes an experiment's data (never trains) and returns the
written `Figure` records, using `gradprobe.report.style` for a consistent look."""
