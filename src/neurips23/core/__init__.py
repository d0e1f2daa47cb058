"""The core every reproduction stands on: claims and verdicts, statistics, the reproduction
contract, seeds in parallel, and CLI commands built from config dataclasses.

Nothing here imports torch at module level, so `neurips23 --help` stays fast.
"""
