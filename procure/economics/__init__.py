"""What a correct label costs from humans, LLMs and hybrids: the scenario maths (pure) and the
scenario measured from the workspace (``measured``)."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.economics.comparison import (
        CurvePoint,
        EconomicsReport,
        StrategyReport,
        curve,
        report,
    )
    from procure.economics.formulas import all_in_per_correct
    from procure.economics.measured import MeasuredRun, llm_run_options, measured_scenario
    from procure.economics.scenario import (
        KINDS,
        POLICIES,
        Scenario,
        edited_scenario,
        read_scenario,
        scenario_text,
        without_none,
    )
    from procure.economics.uncertainty import TornadoBar, tornado

__getattr__, __all__ = lazy_front(__name__)
