"""odebench.rl imports flow one way: every module's module-level and function-local
``odebench.rl`` imports (parsed with ``ast``, by the helpers of tests/test_models_imports.py)
form a graph without a cycle, with parameter matching above the policies it sizes."""

from __future__ import annotations

from pathlib import Path

import odebench.rl
from tests.test_models_imports import find_cycle, import_graph

PACKAGE = "odebench.rl"


def test_rl_package_imports_flow_one_way():
    graph = import_graph(Path(odebench.rl.__file__).parent, PACKAGE)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in odebench.rl: " + " -> ".join(cycle or [])
    # the layers: params < policy_base < deep/flow policies < policies < matching
    assert "odebench.rl.policies" in graph["odebench.rl.matching"]
    assert "odebench.rl.matching" not in graph["odebench.rl.policies"]
    for family in ("deep_policies", "flow_policies"):
        assert f"odebench.rl.{family}" in graph["odebench.rl.policies"]
        assert "odebench.rl.policy_base" in graph[f"odebench.rl.{family}"]
    low = {"odebench.rl.params", "odebench.rl.policy_base", "odebench.rl.deep_policies",
           "odebench.rl.flow_policies"}
    for module in low:  # nothing below the registry reaches up to it or to matching
        assert not graph[module] & {"odebench.rl.policies", "odebench.rl.matching"}, module
