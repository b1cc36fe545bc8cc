"""The errors of the PINTA backend.

`PintaTrap` is what the machine raises when a program does something the hardware cannot do
(a bad opcode, a field out of range, an address outside a buffer, an accumulator read before
it is written, a dependency token that never arrives, a race between queues). It is a
`UserError`: the program is the user's input, so the driver prints the message, which names
the program counter and the disassembled instruction, and exits without a traceback.
"""

from __future__ import annotations

from pintac.core.errors import UserError


class PintaTrap(UserError):
    """A trap of the PINTA machine at program counter `pc` (None: not tied to one instruction).

    `reason` says what went wrong, `text` is the disassembled instruction (or its raw word).
    """

    def __init__(self, pc: int | None, reason: str, text: str = ""):
        self.pc = pc
        self.reason = reason
        self.text = text
        where = "PINTA trap" if pc is None else f"PINTA trap at PC {pc}"
        message = f"{where}: {reason}"
        if text:
            message += f"\n    {pc if pc is not None else '-'}: {text}"
        super().__init__(message)


class Fault(Exception):
    """Raised by the functional model inside one instruction; the simulator turns it into a
    `PintaTrap` carrying the program counter and the disassembled instruction."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
