"""neurips23: methods of a NeurIPS 2023 roundup as readable, tested software."""

__version__ = "0.1.0"
