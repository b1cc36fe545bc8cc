"""`pintac opt` on malformed input: exit 1, a located `file:line:col: error:` message, no traceback."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pintac.cli import main

ROOT = Path(__file__).resolve().parents[2]
POISSON = (ROOT / "examples" / "poisson2d.mlir").read_text()
SMALL = (ROOT / "examples" / "poisson2d_small.mlir").read_text()

NETWORK = """pinn.problem @p {
  pinn.param @W : tensor<2x4xf32> init zeros
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x4xf32> {
    BODY
  }
}
"""


def in_network(body: str) -> str:
    return NETWORK.replace("BODY", body)


# name -> input bytes. Each is a mistake a user (or a broken tool) can make.
MALFORMED: dict[str, bytes] = {
    "truncated-half": POISSON[: len(POISSON) // 2].encode(),
    "truncated-mid-token": POISSON[: POISSON.index("xavier_normal") + 4].encode(),
    "truncated-in-type": b"pinn.problem @p {\n  pinn.param @W : tensor<2x2xf3",
    "unclosed-region": b"pinn.problem @p {\n  pinn.domain @d box [0.0] to [1.0]\n",
    "stray-closing-brace": b"}\n",
    "unknown-op": b"pinn.problem @p {\n  pinn.frobnicate @d\n}\n",
    "unknown-dialect": b'"foo.bar"() : () -> ()\n',
    "garbage-text": b"hello world, this is not MLIR\n",
    "unicode-garbage": "∂u/∂t = Δu ∀x ∈ Ω\n".encode(),
    "binary-junk": bytes(range(256)) * 4,
    "invalid-utf8": b"pinn.problem @p {\n  pinn.domain @d box [0.0] to [1.0] \xc3\x28\n}\n",
    "nul-byte": b"pinn.problem @p {\x00}\n",
    "absurd-paren-nesting": b"pinn.problem @p " + b"(" * 100_000,
    "absurd-region-nesting": b"pinn.problem @p " + b"{" * 5_000 + b"}" * 5_000,
    "absurd-type-nesting": b"func.func @f(%a: "
    + b"tensor<" * 3_000
    + b"f32"
    + b">" * 3_000
    + b")\n",
    "unterminated-string": b'pinn.problem @p {\n  pinn.train {optimizer = "adam}\n}\n',
    # xDSL's string pattern backtracks exponentially on these: they must fail fast
    "string-not-closed-on-its-line": b'"/ a comment missing its first slash, long enough\n'
    + SMALL.encode(),
    "invalid-string-escape": b'pinn.problem @p {\n  pinn.train {optimizer = "a\\qdam and more'
    + b' words to backtrack over"}\n}\n',
    "missing-type": b"pinn.problem @p {\n  pinn.param @W init zeros\n}\n",
    "missing-init-name": b"pinn.problem @p {\n  pinn.param @W : tensor<2x2xf32> init\n}\n",
    "bad-domain-kind": b"pinn.problem @p {\n  pinn.domain @d sphere [0.0] to [1.0]\n}\n",
    "bad-number-in-bounds": b"pinn.problem @p {\n  pinn.domain @d box [0.0, x] to [1.0, 1.0]\n}\n",
    "infinite-radius": b"pinn.problem @p {\n  pinn.domain @d ball center [0.0] radius 1.0e999 dim 2\n}\n",
    "wrong-attribute-type": b'pinn.problem @p {\n  pinn.train {lr = "fast"}\n}\n',
    "wrong-result-type": in_network(
        "%y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x5xf32>\n"
        "    pinn.return %y : tensor<?x5xf32>"
    ).encode(),
    "operand-type-mismatch": in_network(
        "%y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>\n"
        "    %z = arith.addf %x, %y : tensor<?x4xf32>\n"
        "    pinn.return %z : tensor<?x4xf32>"
    ).encode(),
    "undefined-value": in_network("pinn.return %nope : tensor<?x4xf32>").encode(),
    "redefined-value": in_network(
        "%y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>\n"
        "    %y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>\n"
        "    pinn.return %y : tensor<?x4xf32>"
    ).encode(),
    "missing-terminator": in_network(
        "%y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>"
    ).encode(),
    "generic-wrong-operand-count": b'"pinn.return"() : () -> ()\n',
    "huge-integer": b"pinn.problem @p {\n  pinn.train {steps = 99999999999999999999999999}\n}\n",
    "derivative-of-a-param": SMALL.replace("pinn.laplacian @u(", "pinn.laplacian @W1(").encode(),
    "wrong-network-input-width": SMALL.replace(
        "%u = pinn.eval @u(%x) : tensor<?x2xf32>", "%u = pinn.eval @u(%s) : tensor<?x1xf32>"
    ).encode(),
}

LOCATED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: .+", re.M)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_gives_located_error(name, tmp_path, capsys):
    path = tmp_path / f"{name}.mlir"
    path.write_bytes(MALFORMED[name])
    assert main(["opt", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    match = LOCATED.search(captured.err)
    assert match, captured.err
    assert match["file"] == str(path)
    line = int(match["line"])
    assert 1 <= line <= MALFORMED[name].count(b"\n") + 1
    assert "Traceback" not in captured.err


def test_there_are_at_least_twenty_malformed_inputs():
    assert len(MALFORMED) >= 20


@pytest.mark.parametrize("name", ["binary-junk", "absurd-region-nesting", "truncated-half"])
def test_console_script_prints_no_traceback(name, tmp_path):
    """Through the real `pintac` executable, as a user runs it."""
    path = tmp_path / f"{name}.mlir"
    path.write_bytes(MALFORMED[name])
    pintac = Path(sys.executable).parent / "pintac"
    result = subprocess.run([str(pintac), "opt", str(path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert LOCATED.search(result.stderr), result.stderr


def test_error_shows_the_offending_line_with_a_caret(tmp_path, capsys):
    path = tmp_path / "unknown.mlir"
    path.write_bytes(MALFORMED["unknown-op"])
    assert main(["opt", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"{path}:2:3: error: unknown operation 'pinn.frobnicate'"
    assert lines[1] == "  pinn.frobnicate @d"
    assert lines[2] == "  ^^^^^^^^^^^^^^^"


def test_stdin_input_is_named_stdin(monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MALFORMED["unknown-op"])))
    assert main(["opt", "-"]) == 1
    assert capsys.readouterr().err.startswith("<stdin>:2:3: error: unknown operation")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["opt", "does/not/exist.mlir"], "does/not/exist.mlir: error: no such file"),
        (["opt", "."], ".: error: is a directory, not an input file"),
    ],
)
def test_unreadable_input(argv, message, capsys):
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == message
