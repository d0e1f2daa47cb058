"""Benchmark domains (Blocksworld 4-op, Logistics), instance generators and renamings."""

from neurips23.planning.domains.registry import DOMAINS, Instance, get_domain

__all__ = ["DOMAINS", "Instance", "get_domain"]
