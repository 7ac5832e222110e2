"""What a correct label costs from humans, LLMs and hybrids: the scenario maths (pure) and the
scenario measured from the workspace (``measured``)."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.economics.measured import measured_scenario
    from procure.economics.scenario import (
        KINDS,
        POLICIES,
        Scenario,
        TornadoBar,
        all_in_per_correct,
        curve,
        read_scenario,
        report,
        scenario_text,
        tornado,
        without_none,
    )

__getattr__, __all__ = lazy_front(__name__)
