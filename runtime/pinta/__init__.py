"""The PINTA accelerator: ISA description, assembler, simulator."""
