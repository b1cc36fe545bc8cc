"""The documentation says only what is true: what it lists exists, and what it shows pintac
printing is what pintac prints."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pintac.pipelines import PIPELINES
from pintac.registry import available_passes
from pintac.runtime.pinta.target import FILES

ROOT = Path(__file__).resolve().parents[1]
PINTAC = Path(sys.executable).parent / "pintac"
# The pages whose console examples (a fenced block starting with `$ pintac ...`) are checked.
PAGES_WITH_CONSOLE_EXAMPLES = ["README.md", "docs/opt.md", "docs/passes.md", "docs/tutorial.md"]


def read(page: str) -> str:
    return (ROOT / page).read_text()


def console_examples() -> list[tuple[str, str, str]]:
    """(page, command, the output the page shows) of every console example."""
    examples = []
    for page in PAGES_WITH_CONSOLE_EXAMPLES:
        for block in re.findall(r"^```[a-z]*\n(.*?)^```", read(page), re.M | re.S):
            first, _, shown = block.partition("\n")
            if first.startswith("$ pintac "):
                examples.append((page, first.removeprefix("$ "), shown))
    return examples


def test_every_pass_is_in_the_pass_reference():
    reference = read("docs/passes.md")
    missing = [n for n in available_passes() if not re.search(rf"`{re.escape(n)}[`{{]", reference)]
    assert not missing, f"docs/passes.md does not describe {missing}"


def test_the_pass_reference_gives_every_named_pipeline_its_passes():
    """Each named pipeline has a row in docs/passes.md; a row that spells out its passes
    (`a, b, c`, or `a, b`, then as `other`) spells out the pipeline's."""
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (.*?) \|", read("docs/passes.md"), re.M))
    for name, (spec, _) in PIPELINES.items():
        assert name in rows, f"docs/passes.md has no row for the pipeline {name}"
        spelled = re.fullmatch(r"`([^`]*)`(?:, then as `([a-z0-9-]+)`)?", rows[name])
        if spelled:
            passes, then = spelled.groups()
            written = passes.replace(" ", "") + ("," + PIPELINES[then][0] if then else "")
            assert written == spec, name


def test_the_readme_names_every_file_of_a_program_directory():
    readme = read("README.md")
    missing = [name for name in FILES.values() if f"`{name}`" not in readme]
    assert not missing, f"README.md's program directory omits {missing}"


def test_the_pages_show_console_examples():
    pages = {page for page, _, _ in console_examples()}
    assert {"README.md", "docs/opt.md"} <= pages


@pytest.mark.parametrize(
    ("page", "command", "shown"),
    [pytest.param(*example, id=f"{example[0]}: {example[1]}") for example in console_examples()],
)
def test_a_console_example_is_what_pintac_prints(page, command, shown, tmp_path):
    """Run from a directory that sees the repository's examples/ and docs/ (so the paths
    printed are the page's) and receives what the command writes."""
    for folder in ("examples", "docs"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    argv = shlex.split(command)
    result = subprocess.run(
        [str(PINTAC), *argv[1:]],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert result.stdout == shown, f"{page}: `{command}` prints\n{result.stdout}"
