"""The PINTA accelerator backend (its ISA description, assembler and simulator are to come)."""
