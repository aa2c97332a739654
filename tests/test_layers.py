"""The three layers import one way: db <- clinic <- cli/ui; print commands skip textual."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(folder: Path):
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module


def test_db_imports_neither_textual_nor_keta():
    bad = [(p.name, m) for p, m in _imports(ROOT / "db")
           if m.split(".")[0] in ("textual", "rich") or m.startswith("keta_tui")]
    assert bad == []


def test_clinic_never_imports_textual_or_ui():
    bad = [(p.name, m) for p, m in _imports(ROOT / "keta_tui" / "clinic")
           if m.split(".")[0] == "textual" or m.startswith(("keta_tui.ui", "keta_tui.cli"))]
    assert bad == []


def test_ui_never_touches_models_directly():
    bad = [(p.name, m) for p, m in _imports(ROOT / "keta_tui" / "ui")
           if m.startswith("keta_tui.db")]
    assert bad == []


def test_print_commands_do_not_import_textual():
    code = (
        "import sys, keta_tui.cli.main as m; m.build_parser(); "
        "import keta_tui.clinic.board, keta_tui.clinic.settings; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
