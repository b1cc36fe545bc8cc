// RUN: PINTAC_VERIFY_DIAG

pinta.program @p () -> () constants [] at 0 dram 0 {
  pinta.load fmt=f32 dst=0 src=0 rows=1 cols=1 stride=1
}
// CHECK: error: 'pinta.program' op a pinta.program ends with pinta.halt

// -----

pinta.program @p () -> () constants [] at 0 dram 0 {
  pinta.halt
  pinta.tensor @W param "W" at 0 : 2x4
}
// CHECK: error: 'pinta.program' op a pinta.program ends with pinta.halt

// -----

pinta.program @p () -> () constants [] at 0 dram 8 {
  pinta.load fmt=f32 dst=0 src=0 rows=1 cols=1 stride=1
  pinta.tensor @W param "W" at 0 : 2x4
  pinta.halt
}
// CHECK: error: 'pinta.program' op pinta.tensor declarations come before the instructions

// -----

pinta.program @p () -> () constants [] at 0 dram 8 {
  pinta.tensor @W weights "W" at 0 : 2x4
  pinta.halt
}
// CHECK: error: 'pinta.tensor' op unknown tensor kind 'weights' (known: param, state, points, loss)

// -----

pinta.program @p () -> () constants [] at 0 dram 8 {
  pinta.load fmt=f32 dst=0 dst=1
  pinta.halt
}
// CHECK: error: field 'dst' is given twice

// -----

pinta.program @p () -> () constants [] at 0 dram 8 {
  pinta.load fmt f32
  pinta.halt
}
// CHECK: error: Expected '=' after the field name 'fmt'

// -----

pinta.program @p () -> () constants [] at 0 dram 8 {
  "pinta.load"() <{fields = {dst = -1 : i64}}> : () -> ()
  pinta.halt
}
// CHECK: error: 'pinta.load' op field 'dst' must not be negative, got -1

// -----

pinta.program @p () -> () constants [] at 0 dram 8 {
  "pinta.gemm"() <{fields = {push_next = 2 : i64}}> : () -> ()
  pinta.halt
}
// CHECK: error: 'pinta.gemm' op flag 'push_next' must be 0 or 1, got 2

// -----

pinta.program @p () -> () constants [] at 0 dram 8 {
  func.func @f() {
    func.return
  }
  pinta.halt
}
// CHECK: error: 'pinta.program' op 'func.func' cannot appear in a pinta.program: it holds pinta.tensor declarations and instructions
