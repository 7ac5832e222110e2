"""The procure command line: exit codes, JSON on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
import typer

from procure.cli import COMMAND_MODULES, commands, run
from tests.conftest import DATA, ROOT, SAMPLE_TODAY

README = ROOT / "README.md"


@pytest.fixture
def home(tmp_path: Path) -> str:
    return str(tmp_path / "ws")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_sample_and_reports(capsys: pytest.CaptureFixture[str], home: str) -> None:
    today = SAMPLE_TODAY.isoformat()
    code, out, _ = cli(capsys, "--home", home, "init", "--with-sample", "--today", today)
    assert code == 0 and "sample workspace loaded" in out
    assert cli(capsys, "--home", home, "sample")[1].strip() == "sample workspace already loaded"

    code, out, err = cli(capsys, "--home", home, "spend", "--json", "--as-of", "2026-11-21")
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert payload["reporting_currency"] == "USD" and payload["missing_exchange_rates"] == []
    spent = {c["title"]: D(c["spent"]) for c in payload["contracts"]}
    assert spent["Expert reports: chemistry and law"] == D("86100")
    assert spent["Preference pairs for RLHF, Q4"] == D("50750")

    code, out, _ = cli(capsys, "--home", home, "deliveries", "--json", "--as-of", "2026-11-21")
    deliveries = json.loads(out)
    lumen = next(
        c for c in deliveries["contracts"] if c["title"] == "Multilingual SFT instructions"
    )
    assert [(w["week"], w["short_by"], w["state"]) for w in lumen["schedule"] if w["short_by"]] == [
        (3, 1400, "late and short"),
        (4, 900, "late and short"),
    ]
    assert any("short by 1,400 units" in a["message"] for a in deliveries["alerts"])


def test_commands_need_a_workspace(capsys: pytest.CaptureFixture[str], home: str) -> None:
    code, out, err = cli(capsys, "--home", home, "spend")
    assert code == 2 and out == ""
    assert "no procure workspace" in err and "procure init" in err and "Traceback" not in err


def test_contract_import_export_round_trip(
    capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path
) -> None:
    cli(capsys, "--home", home, "init")
    code, out, _ = cli(capsys, "--home", home, "contract", "import", str(DATA / "contract.yaml"))
    assert code == 0 and "1 contracts created" in out
    code, _, err = cli(capsys, "--home", home, "contract", "import", str(DATA / "contract.yaml"))
    assert code == 2 and "already imported" in err
    exported = tmp_path / "out.json"
    code, _, _ = cli(
        capsys,
        "--home",
        home,
        "contract",
        "export",
        "--format",
        "json",
        "--with-batches",
        "-o",
        str(exported),
    )
    assert code == 0
    document = json.loads(exported.read_text())
    assert document["contracts"][0]["price_lines"][0]["unit_price"] == "2.50"
    other = str(tmp_path / "other")
    cli(capsys, "--home", other, "init")
    assert cli(capsys, "--home", other, "contract", "import", str(exported))[0] == 0
    code, out, _ = cli(capsys, "--home", other, "contract", "list", "--json")
    assert [c["title"] for c in json.loads(out)["contracts"]] == ["Pilot"]


def test_bad_input_exits_2_with_one_message(
    capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path
) -> None:
    cli(capsys, "--home", home, "init")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (DATA / "contract.yaml").read_text().replace("currency: USD", "currency: usdollar")
    )
    code, out, err = cli(capsys, "--home", home, "contract", "import", str(broken))
    assert code == 2 and out == ""
    assert err.strip() == (
        "procure: broken.yaml, line 12, contracts[0].currency: unknown currency 'usdollar'; "
        "expected an ISO 4217 code such as USD or EUR"
    )
    assert cli(capsys, "--home", home, "contract", "list", "--json")[1].count('"title"') == 0

    missing = cli(capsys, "--home", home, "contract", "import", str(tmp_path / "nope.yaml"))
    assert missing[0] == 2 and "cannot read the file" in missing[2]
    assert cli(capsys, "--home", home, "fx", "set", "EUR", "abc")[0] == 2
    assert (
        cli(
            capsys,
            "--home",
            home,
            "batch",
            "add",
            "99",
            "--task-type",
            "x",
            "--week",
            "1",
            "--quantity",
            "5",
        )[0]
        == 2
    )
    assert cli(capsys, "--home", home, "spend", "--as-of", "yesterday")[0] == 2  # usage error


def test_batches_from_the_cli(capsys: pytest.CaptureFixture[str], home: str) -> None:
    cli(capsys, "--home", home, "init")
    cli(capsys, "--home", home, "contract", "import", str(DATA / "contract.yaml"))
    add = ["--home", home, "batch", "add", "1", "--task-type", "pref_pair", "--quantity", "1000"]
    code, out, _ = cli(capsys, *add, "--week", "2", "--delivered-on", "2026-10-18")
    assert code == 0 and "W2-pref_pair-1" in out
    code, _, err = cli(capsys, *add, "--week", "8", "--delivered-on", "2026-10-18")
    assert code == 2 and "week 8 is outside the contract" in err
    code, _, _ = cli(
        capsys,
        "--home",
        home,
        "batch",
        "status",
        "2",
        "partially_accepted",
        "--accepted-quantity",
        "500",
    )
    assert code == 0
    code, out, _ = cli(capsys, "--home", home, "batch", "list", "--json")
    batches = {b["ref"]: b for b in json.loads(out)["batches"]}
    assert batches["W2-pref_pair-1"]["billable_units"] == 500
    assert D(batches["A1"]["effective_unit_price"]) == D(
        "2.25"
    )  # 2.50 less the 10% first-batch discount


def _command_names(typer_app: typer.Typer, prefix: str = "") -> list[str]:
    names = [
        f"{prefix}{(c.name or c.callback.__name__).replace('_', '-')}"
        for c in typer_app.registered_commands
        if c.callback
    ]
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        names += _command_names(group.typer_instance, f"{prefix}{group.name} ")
    return names


def test_every_command_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    readme = README.read_text()
    every = _command_names(commands())
    assert len(every) > 15
    assert {name.split()[0] for name in every} == set(COMMAND_MODULES)  # each one's module known
    undocumented = [name for name in every if f"procure {name}" not in readme]
    assert undocumented == []
    for name in every:
        code, out, _ = cli(capsys, *name.split(), "--help")
        assert code == 0 and "Usage" in out


def test_the_readme_examples_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Each YAML example in the README runs as its command says (before: the economics example
    had an unquoted comma in a strategy's name, so the name was cut and a stray key refused)."""
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    scenarios = [b for b in blocks if b.startswith("volume:")]
    assert scenarios
    for n, block in enumerate(scenarios):
        path = tmp_path / f"scenario-{n}.yaml"
        path.write_text(block)
        code, out, err = cli(capsys, "economics", "--scenario", str(path), "--json")
        assert code == 0, err
        names = [s["name"] for s in json.loads(out)["strategies"]]
        assert "gpt-4o-mini, 10% human review" in names


def test_today_is_pinned_by_the_environment(
    capsys: pytest.CaptureFixture[str], home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli(capsys, "--home", home, "init", "--with-sample")
    code, out, _ = cli(capsys, "--home", home, "deliveries", "--json")
    assert code == 0 and json.loads(out)["as_of"] == SAMPLE_TODAY.isoformat()
    monkeypatch.setenv("PROCURE_TODAY", "2026-02-30")
    code, out, err = cli(capsys, "--home", home, "deliveries")
    assert code == 2 and out == ""
    assert "PROCURE_TODAY='2026-02-30' is not a date (expected YYYY-MM-DD)" in err


def test_a_run_loads_only_its_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``procure agreement`` starts fast: it never imports SQLModel or the other commands."""
    import subprocess
    import sys

    probe = (
        "import sys; from procure.cli import run; run(['agreement', sys.argv[1]]); "
        "print(sorted(m for m in sys.modules if m.startswith(('procure.cli.', 'sqlmodel'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(DATA / "labels" / "pairs.csv")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "['procure.cli._common', 'procure.cli.quality']"


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["--home", "ws", "spend", "--json"], "spend"),
        (["--home=ws", "llm", "jobs"], "llm"),
        (["agreement", "--help"], "agreement"),
        (["--help", "quality"], None),  # the root's help: every command
        ([], None),
        (["spnd"], None),  # a typo: every command, for typer's message
    ],
)
def test_the_command_a_run_needs(args: list[str], command: str | None) -> None:
    from procure.cli import command_named

    assert command_named(args) == command


def test_each_command_is_registered_by_the_module_named_for_it() -> None:
    """COMMAND_MODULES is right: importing a module alone registers exactly its commands."""
    import subprocess
    import sys

    probe = """
import importlib, json
from procure.cli import COMMAND_MODULES
from procure.cli._common import app
def names():
    return {c.name or c.callback.__name__ for c in app.registered_commands} | {
        g.name for g in app.registered_groups}
found = {}
for module in dict.fromkeys(COMMAND_MODULES.values()):
    before = names()
    importlib.import_module(f"procure.cli.{module}")
    found.update({name: module for name in names() - before})
print(json.dumps(found))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == COMMAND_MODULES
