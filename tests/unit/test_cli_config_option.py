"""`--config FILE` works before or after the command (issue 7: `nodecompute config check --config X` was refused)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from nodecompute.__main__ import build_parser


@pytest.mark.parametrize("argv", [
    ["--config", "X", "config", "check"],
    ["config", "check", "--config", "X"],
    ["config", "--config", "X", "check"],
    ["config", "check", "--config=X"],
    ["serve", "--config", "X"],
    ["user", "list", "--config", "X"],
    ["project", "create", "demo", "--config", "X"],
    ["image", "import", "disk.qcow2", "--name", "n", "--config", "X"],
])
def test_config_is_read_wherever_it_stands(argv):
    assert build_parser().parse_args(argv).config == "X"


def test_no_config_leaves_the_default():
    assert build_parser().parse_args(["config", "check"]).config is None


def test_config_check_after_the_command_names_the_bad_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[compute]\nvirt_typo = "qemu"\n')
    result = subprocess.run([sys.executable, "-m", "nodecompute", "config", "check", "--config", str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "[compute] virt_typo: unknown key" in result.stderr
