"""The layering as a contract: .importlinter is generated from the "may import" table of
docs/architecture.md (scripts/layers), lint-imports holds the code to it, and the contract
breaks when a package imports what its row does not list."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]


def load_layers() -> ModuleType:
    loader = SourceFileLoader("layers", str(ROOT / "scripts" / "layers"))
    spec = importlib.util.spec_from_loader("layers", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["layers"] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


layers = load_layers()


def copy_code(to: Path) -> None:
    """The Python code and the contract, to break in a copy."""
    skip = shutil.ignore_patterns("locale", "static", "templates", "__pycache__")
    shutil.copytree(ROOT / "smsdesk", to / "smsdesk", ignore=skip)
    shutil.copy(ROOT / ".importlinter", to)


def lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LINT, "--no-cache", "--no-logo"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contract_is_the_table_of_the_architecture_page() -> None:
    check = subprocess.run(
        [sys.executable, "scripts/layers", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_code_keeps_the_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_importing_an_app_breaks_the_contract(tmp_path: Path) -> None:
    copy_code(tmp_path)
    # a new module: the contract is about the package, not the files it had
    (tmp_path / "smsdesk" / "core" / "badge.py").write_text(
        "from smsdesk.messaging.receiving import unread_total\n"
    )
    result = lint(tmp_path)
    assert result.returncode == 1
    assert "core imports only sms BROKEN" in result.stdout
    assert "smsdesk.core.badge -> smsdesk.messaging.receiving" in result.stdout


def test_a_stale_exception_breaks_the_contract(tmp_path: Path) -> None:
    """An exception whose import is gone fails: the list of exceptions cannot go stale."""
    copy_code(tmp_path)
    config = (ROOT / ".importlinter").read_text()
    stale = "ignore_imports =\n    smsdesk.directory.gone -> smsdesk.sms\n"
    if "ignore_imports =\n" in config:
        config = config.replace("ignore_imports =\n", stale, 1)
    else:  # no exception today: the stale one is the first
        config = config.replace(
            "broken_contract_guidance =", stale + "broken_contract_guidance =", 1
        )
    (tmp_path / ".importlinter").write_text(config)
    result = lint(tmp_path)
    assert result.returncode == 1
    assert "No matches for ignored import smsdesk.directory.gone" in result.stdout + result.stderr


def test_a_table_where_two_packages_import_each_other_is_refused() -> None:
    with pytest.raises(layers.TableError, match="a -> b -> a"):
        layers.check_acyclic({"a": ["b"], "b": ["a"]})


def test_every_package_needs_a_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "packages_on_disk", lambda: {"core", "newapp"})
    with pytest.raises(layers.TableError, match="no row for newapp"):
        layers.expected()


def test_a_row_may_only_name_packages_with_a_row() -> None:
    table = (
        "| package | what it holds | may import |\n| --- | --- | --- |\n"
        "| `smsdesk/core/` | x | `sms` |\n"
    )
    with pytest.raises(layers.TableError, match="`sms`, which has no row"):
        layers.read_table(table)
