"""How a located error quotes its source line."""

from pintac.diagnostics import Source


def test_the_caret_stays_under_its_character_when_the_line_holds_control_characters():
    """The quoted line is shown escaped (`\\x01` takes four columns), and the caret moves
    with it: it still points at the character the message is about."""
    source = Source("f.mlir", "%a = \x01\x02 bad\n")
    message = source.diagnostic(source.text.index("bad"), "unexpected 'bad'", length=3)
    assert message.splitlines() == [
        "f.mlir:1:9: error: unexpected 'bad'",
        "%a = \\x01\\x02 bad",
        "              ^^^",
    ]
