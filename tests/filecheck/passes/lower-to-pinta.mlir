// RUN: pintac opt %s --split-input-file -p 'lower-to-pinta{batch="pde=8" placement=dram}' | filecheck %s
// RUN: pintac opt %s --split-input-file -p 'lower-to-pinta{batch="pde=8" placement=dram set="memory.spm_bytes=320,memory.acc_bytes=128"}' | filecheck %s --check-prefix=TILED
// RUN: not pintac opt %s --split-input-file -p 'lower-to-pinta{batch="pde=8" placement=dram set="memory.spm_bytes=256"}' 2>&1 | filecheck %s --check-prefix=SMALL
// RUN: not pintac opt %s --split-input-file -p 'lower-to-pinta' 2>&1 | filecheck %s --check-prefix=NOBATCH
// RUN: pintac opt %s --split-input-file -p 'lower-to-pinta{batch="pde=8"}' | filecheck %s --check-prefix=ONCHIP

// One linear layer fitted by SGD: y = x W, loss = mean(y²), dW = xᵀ dy.
func.func @train_step(%W: tensor<2x4xf32> {train.role = "param:W"}, %x: tensor<?x2xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<2x4xf32> {train.role = "param:W"}, tensor<f32> {train.role = "loss"}) {
  %y = train.gemm %x, %W role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
  %loss = train.mean_square %y : tensor<?x4xf32> -> tensor<f32>
  %one = pinn.constant 1.0 : tensor<f32>
  %dy = train.mean_square_grad %y, %one : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %dW = train.gemm %x, %dy role wgrad transpose_a : tensor<?x2xf32>, tensor<?x4xf32> -> tensor<2x4xf32>
  %W_next = train.update sgd %W, %dW, %step {lr = 0.5} : tensor<2x4xf32>
  func.return %W_next, %loss : tensor<2x4xf32>, tensor<f32>
}

// The roles say what the host passes and gets back. The host's tensors have fixed DRAM homes; the new W goes back into W's home. The constant
// pool (1.0 for the fill, then sgd's hyperparameter block) follows the working space.
// CHECK:      pinta.program @train_step ("param:W", "points:pde", "seed", "step") -> ("param:W", "loss") constants [1.0, 0.5, 0.9, 0.999, 1.0e-08, 0.0, 0.0] at 91 dram 105 {
// CHECK-NEXT:   pinta.tensor @W param "W" at 0 : 2x4
// CHECK-NEXT:   pinta.tensor @x points "pde" at 8 : 8x2
// CHECK-NEXT:   pinta.tensor @loss loss "loss" at 24 : scalar
// The scheduler moves the wgrad GEMM's load of x (second half of the SPM) to the front.
// CHECK-NEXT:   pinta.load fmt=f32 dst=8 src=8 rows=8 cols=2 stride=2 local=0 {note = "%x"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=0 rows=2 cols=4 stride=4 local=0 push_next {note = "%W"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=524292 src=8 rows=8 cols=2 stride=2 local=0 {note = "%x"}
// y: one GEMM into the ACC, rounded once by ACCRD, stored to its working home at 27.
// CHECK-NEXT:   pinta.gemm acc=0 a=8 b=0 m=8 k=2 n=4 ta=0 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev {note = "%y"}
// CHECK-NEXT:   pinta.accrd dst=24 acc=0 m=8 n=4 push_next {note = "%y"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=27 src=24 rows=8 cols=4 stride=4 local=0 pop_prev push_prev {note = "%y"}
// Reading y back waits for its store: a token from the store queue relayed by a compute NOP.
// CHECK-NEXT:   pinta.nop queue=compute pop_next push_prev {note = "relay a token"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=27 rows=8 cols=4 stride=4 local=0 pop_next push_next {note = "%y"}
// CHECK-NEXT:   pinta.red kind=meansq dst=32 src=0 b=0 rows=8 cols=4 init=0 const=0 count=0 pop_prev push_next {note = "%loss"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=24 src=32 rows=1 cols=1 stride=1 local=0 pop_prev {note = "%loss"}
// CHECK-NEXT:   pinta.vec op=fill dst=0 a=0 b=0 rows=1 cols=1 const=0 push_next {note = "%one"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=25 src=0 rows=1 cols=1 stride=1 local=0 pop_prev push_prev {note = "%one"}
// CHECK-NEXT:   pinta.nop queue=compute pop_next push_prev {note = "relay a token"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=27 rows=8 cols=4 stride=4 local=0 pop_next {note = "%y"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=32 src=25 rows=1 cols=1 stride=1 local=0 push_next {note = "%one"}
// CHECK-NEXT:   pinta.red kind=meansq_grad dst=33 src=0 b=32 rows=8 cols=4 init=0 const=0 count=0 pop_prev push_next {note = "%dy"}
// dy takes the home of y (dead by then); dW accumulates over the rows in the ACC.
// CHECK-NEXT:   pinta.store fmt=f32 dst=59 src=33 rows=8 cols=4 stride=4 local=0 pop_prev push_prev {note = "%dy"}
// CHECK-NEXT:   pinta.nop queue=compute pop_next push_prev {note = "relay a token"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=524308 src=59 rows=8 cols=4 stride=4 local=0 pop_next push_next {note = "%dy"}
// CHECK-NEXT:   pinta.gemm acc=0 a=524292 b=524308 m=2 k=8 n=4 ta=1 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev {note = "%dW += rows 0:8"}
// CHECK-NEXT:   pinta.accrd dst=0 acc=0 m=2 n=4 push_next {note = "%dW"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=27 src=0 rows=2 cols=4 stride=4 local=0 pop_prev push_prev {note = "%dW"}
// CHECK-NEXT:   pinta.nop queue=compute pop_next push_prev {note = "relay a token"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=0 rows=2 cols=4 stride=4 local=0 pop_next {note = "%W"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=8 src=27 rows=2 cols=4 stride=4 local=0 push_next {note = "%dW"}
// CHECK-NEXT:   pinta.update kind=sgd p=0 g=8 m=0 v=0 count=8 hyper=1 pop_prev push_next {note = "%W"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=0 src=0 rows=2 cols=4 stride=4 local=0 pop_prev {note = "%W_next"}
// CHECK-NEXT:   pinta.halt {note = "end of the step"}
// CHECK-NEXT: }

// The default placement: the step tiled by points (one tile of the 8 points) with its values
// on chip. W, which the loop reads, is copied into the SPM once for its tiles (0); the
// constant and y (gathered from the tile) live in the SPM (8 and 10), the tile's dy in the
// loop's block above them (42), dW after the loop where W's copy was (0). Instructions read
// values on chip where they live (the GEMM reads W at 0, the mean square y at 10) and the
// GEMM's ACCRD writes y there; an on-chip copy is a LOAD or STORE with local=1. DRAM holds the host's tensors; dW is one exact sum in the
// ACC (region 0) across the tiles, rounded once after the loop.
// ONCHIP:      pinta.program @train_step ("param:W", "points:pde", "seed", "step") -> ("param:W", "loss") constants [1.0, 0.5, 0.9, 0.999, 1.0e-08, 0.0, 0.0] at 35 dram 49 attributes {tiles = {pde = 8 : i64}} {
// ONCHIP-NEXT:   pinta.tensor @W param "W" at 0 : 2x4
// ONCHIP-NEXT:   pinta.tensor @x points "pde" at 8 : 8x2
// ONCHIP-NEXT:   pinta.tensor @loss loss "loss" at 24 : scalar
// ONCHIP-NEXT:   pinta.vec op=fill dst=9 a=0 b=0 rows=1 cols=1 const=0 push_next {note = "%one"}
// ONCHIP-NEXT:   pinta.load fmt=f32 dst=74 src=8 rows=8 cols=2 stride=2 local=0 {note = "%x_pde_tile"}
// ONCHIP-NEXT:   pinta.store fmt=f32 dst=8 src=9 rows=1 cols=1 stride=1 local=1 pop_prev push_prev {note = "%one"}
// ONCHIP-NEXT:   pinta.load fmt=f32 dst=0 src=0 rows=2 cols=4 stride=4 local=0 push_next {note = "%W"}
// ONCHIP-NEXT:   pinta.load fmt=f32 dst=524325 src=8 rows=8 cols=2 stride=2 local=0 push_next {note = "%x_pde_tile"}
// ONCHIP-NEXT:   pinta.gemm acc=8 a=74 b=0 m=8 k=2 n=4 ta=0 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev {note = "%y_1"}
// ONCHIP-NEXT:   pinta.accrd dst=10 acc=8 m=8 n=4 {note = "%y_1"}
// ONCHIP-NEXT:   pinta.red kind=meansq_grad dst=74 src=10 b=8 rows=8 cols=4 init=0 const=0 count=8 pop_next push_next {note = "%dy"}
// ONCHIP-NEXT:   pinta.store fmt=f32 dst=42 src=74 rows=8 cols=4 stride=4 local=1 pop_prev push_prev {note = "%dy"}
// ONCHIP-NEXT:   pinta.gemm acc=0 a=524325 b=42 m=2 k=8 n=4 ta=1 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev pop_next {note = "%acc0_pde_next += rows 0:8"}
// ONCHIP-NEXT:   pinta.accrd dst=42 acc=0 m=2 n=4 push_next {note = "%dW"}
// ONCHIP-NEXT:   pinta.store fmt=f32 dst=0 src=42 rows=2 cols=4 stride=4 local=1 pop_prev push_prev {note = "%dW"}
// ONCHIP-NEXT:   pinta.red kind=meansq dst=42 src=10 b=0 rows=8 cols=4 init=0 const=0 count=0 pop_next push_prev push_next {note = "%loss"}
// ONCHIP-NEXT:   pinta.load fmt=f32 dst=8 src=0 rows=2 cols=4 stride=4 local=0 pop_next {note = "%W"}
// ONCHIP-NEXT:   pinta.store fmt=f32 dst=24 src=42 rows=1 cols=1 stride=1 local=0 pop_prev {note = "%loss"}
// ONCHIP-NEXT:   pinta.load fmt=f32 dst=16 src=0 rows=2 cols=4 stride=4 local=1 push_next {note = "%dW"}
// ONCHIP-NEXT:   pinta.update kind=sgd p=8 g=16 m=0 v=0 count=8 hyper=1 pop_prev push_next {note = "%W"}
// ONCHIP-NEXT:   pinta.store fmt=f32 dst=0 src=8 rows=2 cols=4 stride=4 local=0 pop_prev {note = "%W_next"}
// ONCHIP-NEXT:   pinta.halt {note = "end of the step"}

// An 80-word SPM and 16 accumulators: y in tiles of 2 rows alternating between the two
// halves of the SPM (x at 8 and 44) and of the ACC (0 and 8), W resident at 0; the loads
// of the next tiles run ahead of the GEMMs, as far as the buffers they overwrite allow.
// TILED:      pinta.load fmt=f32 dst=0 src=0 rows=2 cols=4 stride=4 local=0 {note = "%W"}
// TILED-NEXT: pinta.load fmt=f32 dst=8 src=8 rows=2 cols=2 stride=2 local=0 push_next {note = "%x[0:2]"}
// TILED-NEXT: pinta.load fmt=f32 dst=44 src=12 rows=2 cols=2 stride=2 local=0 push_next {note = "%x[2:4]"}
// TILED-NEXT: pinta.gemm acc=0 a=8 b=0 m=2 k=2 n=4 ta=0 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev push_prev {note = "%y"}
// TILED-NEXT: pinta.accrd dst=12 acc=0 m=2 n=4 push_next {note = "%y"}
// TILED-NEXT: pinta.store fmt=f32 dst=27 src=12 rows=2 cols=4 stride=4 local=0 pop_prev push_prev {note = "%y[0:2]"}
// TILED-NEXT: pinta.load fmt=f32 dst=8 src=16 rows=2 cols=2 stride=2 local=0 pop_next push_next {note = "%x[4:6]"}
// TILED-NEXT: pinta.gemm acc=8 a=44 b=0 m=2 k=2 n=4 ta=0 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev push_prev {note = "%y"}
// The weight gradient: a first GEMM over rows 0:6 starts the accumulation (init=1), the
// second adds rows 6:8 (init=0); one ACCRD rounds the exact sum.
// TILED:      pinta.gemm acc=0 a=8 b=20 m=2 k=6 n=4 ta=1 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev {note = "%dW += rows 0:6"}
// TILED:      pinta.gemm acc=0 a=44 b=48 m=2 k=2 n=4 ta=1 tb=0 init=0 prec_a=f32 prec_b=f32 pop_prev {note = "%dW += rows 6:8"}
// TILED-NEXT: pinta.accrd dst=0 acc=0 m=2 n=4 push_next {note = "%dW"}

// SMALL: lower-to-pinta.mlir:12:9: error: {{.*}}: 'train.mean_square_grad' computing %dy: %dy (128 bytes) does not fit in the SPM (256 bytes) next to the op's other buffers; give PINTA a larger SPM (--hw-set memory.spm_bytes=N with N >= 260)
// NOBATCH: error: {{.*}} the batch size of the points of 'pde' is not given

// -----

// Permutes (the tensor-train layers' data movement): a batched transpose of the points (each
// row of x as 2 x 2, transposed), a transpose of a weight, and a reshape.
func.func @train_step(%W: tensor<2x3xf32> {train.role = "param:W"}, %x: tensor<?x4xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<f32> {train.role = "loss"}) {
  %t = train.permute %x shape [-1, 2, 2] perm [0, 2, 1] : tensor<?x4xf32> -> tensor<?x2xf32>
  %Wt = train.permute %W shape [2, 3] perm [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %y = train.gemm %t, %Wt role fwd transpose_b : tensor<?x2xf32>, tensor<3x2xf32> -> tensor<?x3xf32>
  %r = train.permute %y shape [-1, 6] perm [0, 1] : tensor<?x3xf32> -> tensor<?x6xf32>
  %loss = train.mean_square %r : tensor<?x6xf32> -> tensor<f32>
  func.return %loss : tensor<f32>
}

// CHECK:      builtin.module {
// CHECK-NEXT:   pinta.program @train_step ("param:W", "points:pde", "seed", "step") -> ("loss") constants [] at 125 dram 125 {
// CHECK-NEXT:   pinta.tensor @W param "W" at 0 : 2x3
// CHECK-NEXT:   pinta.tensor @x points "pde" at 6 : 8x4
// CHECK-NEXT:   pinta.tensor @loss loss "loss" at 38 : scalar
// t: the 8 rows of x, each a 2 x 2 array, transposed by one PERM (source 1 x 8 x 2 x 2, its
// last two axes swapped) into the 16 x 2 rows of t.
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=6 rows=8 cols=4 stride=4 local=0 push_next {note = "%x"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=524288 src=0 rows=2 cols=3 stride=3 local=0 push_next {note = "%W"}
// CHECK-NEXT:   pinta.perm dst=32 src=0 n0=1 n1=8 n2=2 n3=2 p0=0 p1=1 p2=3 p3=2 pop_prev push_next {note = "%t"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=39 src=32 rows=16 cols=2 stride=2 local=0 pop_prev push_prev {note = "%t"}
// Wt: a 2-D transpose, 2 x 3 to 3 x 2.
// CHECK-NEXT:   pinta.perm dst=524294 src=524288 n0=1 n1=1 n2=2 n3=3 p0=0 p1=1 p2=3 p3=2 pop_prev push_next {note = "%Wt"}
// CHECK-NEXT:   pinta.nop queue=compute pop_next push_prev {note = "relay a token"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=6 src=39 rows=16 cols=2 stride=2 local=0 pop_next {note = "%t"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=71 src=524294 rows=3 cols=2 stride=2 local=0 pop_prev push_prev {note = "%Wt"}
// CHECK-NEXT:   pinta.nop queue=compute pop_next push_prev {note = "relay a token"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=71 rows=3 cols=2 stride=2 local=0 pop_next push_next {note = "%Wt"}
// CHECK-NEXT:   pinta.gemm acc=0 a=6 b=0 m=16 k=2 n=3 ta=0 tb=1 init=1 prec_a=f32 prec_b=f32 pop_prev {note = "%y"}
// CHECK-NEXT:   pinta.accrd dst=38 acc=0 m=16 n=3 push_next {note = "%y"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=77 src=38 rows=16 cols=3 stride=3 local=0 pop_prev push_prev {note = "%y"}
// r reshapes y: a view with no instructions; the mean square reads y's home (77) as 8 x 6.
// CHECK-NEXT:   pinta.nop queue=compute pop_next push_prev {note = "relay a token"}
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=77 rows=8 cols=6 stride=6 local=0 pop_next push_next {note = "%r"}
// CHECK-NEXT:   pinta.red kind=meansq dst=48 src=0 b=0 rows=8 cols=6 init=0 const=0 count=0 pop_prev push_next {note = "%loss"}
// CHECK-NEXT:   pinta.store fmt=f32 dst=38 src=48 rows=1 cols=1 stride=1 local=0 pop_prev {note = "%loss"}
// CHECK-NEXT:   pinta.halt {note = "end of the step"}
// CHECK-NEXT: }

// In the 80-word SPM t takes two tiles of whole rows of x, 5 and 3, in the two halves.
// TILED:      pinta.load fmt=f32 dst=0 src=6 rows=5 cols=4 stride=4 local=0 push_next {note = "%x[0:5]"}
// TILED-NEXT: pinta.load fmt=f32 dst=40 src=26 rows=3 cols=4 stride=4 local=0 push_next {note = "%x[5:8]"}
// TILED-NEXT: pinta.perm dst=20 src=0 n0=1 n1=5 n2=2 n3=2 p0=0 p1=1 p2=3 p3=2 pop_prev push_prev push_next {note = "%t"}
// TILED-NEXT: pinta.store fmt=f32 dst=39 src=20 rows=10 cols=2 stride=2 local=0 pop_prev push_prev {note = "%t[0:10]"}
// TILED-NEXT: pinta.load fmt=f32 dst=0 src=0 rows=2 cols=3 stride=3 local=0 pop_next push_next {note = "%W"}
// TILED-NEXT: pinta.perm dst=52 src=40 n0=1 n1=3 n2=2 n3=2 p0=0 p1=1 p2=3 p3=2 pop_prev push_next {note = "%t"}
// TILED-NEXT: pinta.store fmt=f32 dst=59 src=52 rows=6 cols=2 stride=2 local=0 pop_prev {note = "%t[10:16]"}
