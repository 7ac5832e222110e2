"""The published reference dataset (Espinosa & Salathé 2024; ../shared/reference_data, never
copied into the project) run through procure end to end; expected values from its SOURCE.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from procure.quality.files import file_agreement
from tests.conftest import ROOT, skip_or_fail

SCRIPT = ROOT / "bench" / "validate_reference.py"


def _validation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not module.REFERENCE.exists():
        skip_or_fail(f"the reference data is not at {module.REFERENCE}")
    return module


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Path]]:
    module = _validation()
    return module, module.build_files(tmp_path_factory.mktemp("reference"))


def test_published_accuracies(reference_files: tuple[ModuleType, dict[str, Path]]) -> None:
    module, files = reference_files
    for model, prompt, published in module.PUBLISHED:
        report = file_agreement(
            files["experts"], files[f"{model} p{prompt}"], labels=module.LABELS
        ).against
        assert report.percent_agreement == pytest.approx(published, abs=0.00005), (model, prompt)


def test_regression_values_of_source_md(
    reference_files: tuple[ModuleType, dict[str, Path]], tmp_path: Path
) -> None:
    module, files = reference_files
    p7 = file_agreement(files["experts"], files["GPT-4 p47"], labels=module.LABELS).against
    assert p7.confusion.counts == [[26, 18, 5], [17, 528, 16], [12, 75, 60]]
    assert (p7.items, p7.percent_agreement) == (757, pytest.approx(614 / 757, abs=1e-12))
    assert p7.cohen_kappa == pytest.approx(0.484681, abs=1e-6)
    assert p7.gwet_ac1 == pytest.approx(0.769195, abs=1e-6)
    assert file_agreement(
        files["experts and GPT-4 p7"], labels=module.LABELS
    ).krippendorff_alpha == pytest.approx(0.480076, abs=1e-6)
    prompts = file_agreement(files["gpt4 prompts"], labels=module.LABELS)
    assert prompts.fleiss_kappa == pytest.approx(0.635267, abs=1e-6)
    assert prompts.krippendorff_alpha == pytest.approx(0.635327, abs=1e-6)
    stored = module.workspace_figures(files, tmp_path / "workspace")
    assert stored.percent_agreement == pytest.approx(614 / 757, abs=1e-12)
    assert stored.cohen_kappa == pytest.approx(0.484681, abs=1e-6)
