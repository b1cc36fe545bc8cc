// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP

// A program: the host's tensors, then instructions in program order; every instruction class,
// fields as `name=value`, token flags as bare words, notes as attributes.
pinta.program @train_step ("param:W", "state:W:m", "points:pde", "seed", "step") -> ("param:W", "state:W:m", "loss") constants [1.0, 0.001, 0.9] at 64 dram 70 {
  pinta.tensor @W param "W" at 0 : 2x4
  pinta.tensor @m_W state "W:m" at 8 : 2x4
  pinta.tensor @x points "pde" at 16 : 8x2
  pinta.tensor @loss loss "loss" at 32 : scalar
  pinta.load fmt=f32 dst=0 src=0 rows=2 cols=4 stride=4 push_next {note = "%W"}
  pinta.store fmt=q8b4 dst=40 src=0 rows=2 cols=4 stride=4 pop_prev
  pinta.gemm acc=0 a=8 b=0 m=8 k=2 n=4 ta=0 tb=0 init=1 prec_a=int8 prec_b=int12 pop_prev push_prev
  pinta.accrd dst=24 acc=0 m=8 n=4
  pinta.quant addr=24 rows=8 cols=4 bits=8 brows=4 bcols=4 rounding=stochastic stream=3 elem_offset=0 tensor_cols=4
  pinta.vec op=bias_add dst=24 a=24 b=56 rows=8 cols=4 const=0
  pinta.vcol op=colslice dst=60 a=8 rows=8 cols=2 lo=1 hi=2
  pinta.perm dst=64 src=24 n0=1 n1=2 n2=4 n3=4 p0=0 p1=1 p2=3 p3=2
  pinta.sfu fn=tanh kind=apply dst=24 a=24 b=0 c=0 rows=8 streams=1 cols=4
  pinta.red kind=colsum dst=60 src=24 b=0 rows=8 cols=4 init=1 const=0
  pinta.stein kind=laplacian diff=1 dst=0 a=100 b=200 points=4 pairs=16 coords=2 lo=0 hi=2 sigma=0
  pinta.rng dst=200 points=4 pairs=16 coords=2 stream=0 point_offset=0 sigma=0 sigma_t=0 has_sigma_t=0
  pinta.update kind=adam p=0 g=8 m=16 v=24 count=8 hyper=1
  pinta.nop queue=store pop_prev
  pinta.halt
}

// CHECK:      pinta.program @train_step ("param:W", "state:W:m", "points:pde", "seed", "step") -> ("param:W", "state:W:m", "loss") constants [1.0, 0.001, 0.9] at 64 dram 70 {
// CHECK-NEXT:   pinta.tensor @W param "W" at 0 : 2x4
// CHECK-NEXT:   pinta.tensor @m_W state "W:m" at 8 : 2x4
// CHECK-NEXT:   pinta.tensor @x points "pde" at 16 : 8x2
// CHECK-NEXT:   pinta.tensor @loss loss "loss" at 32 : scalar
// CHECK-NEXT:   pinta.load fmt=f32 dst=0 src=0 rows=2 cols=4 stride=4 push_next {note = "%W"}
// CHECK-NEXT:   pinta.store fmt=q8b4 dst=40 src=0 rows=2 cols=4 stride=4 pop_prev
// CHECK-NEXT:   pinta.gemm acc=0 a=8 b=0 m=8 k=2 n=4 ta=0 tb=0 init=1 prec_a=int8 prec_b=int12 pop_prev push_prev
// CHECK-NEXT:   pinta.accrd dst=24 acc=0 m=8 n=4
// CHECK-NEXT:   pinta.quant addr=24 rows=8 cols=4 bits=8 brows=4 bcols=4 rounding=stochastic stream=3 elem_offset=0 tensor_cols=4
// CHECK-NEXT:   pinta.vec op=bias_add dst=24 a=24 b=56 rows=8 cols=4 const=0
// CHECK-NEXT:   pinta.vcol op=colslice dst=60 a=8 rows=8 cols=2 lo=1 hi=2
// CHECK-NEXT:   pinta.perm dst=64 src=24 n0=1 n1=2 n2=4 n3=4 p0=0 p1=1 p2=3 p3=2
  pinta.perm dst=64 src=24 n0=1 n1=2 n2=4 n3=4 p0=0 p1=1 p2=3 p3=2
// CHECK-NEXT:   pinta.sfu fn=tanh kind=apply dst=24 a=24 b=0 c=0 rows=8 streams=1 cols=4
// CHECK-NEXT:   pinta.red kind=colsum dst=60 src=24 b=0 rows=8 cols=4 init=1 const=0
// CHECK-NEXT:   pinta.stein kind=laplacian diff=1 dst=0 a=100 b=200 points=4 pairs=16 coords=2 lo=0 hi=2 sigma=0
// CHECK-NEXT:   pinta.rng dst=200 points=4 pairs=16 coords=2 stream=0 point_offset=0 sigma=0 sigma_t=0 has_sigma_t=0
// CHECK-NEXT:   pinta.update kind=adam p=0 g=8 m=16 v=24 count=8 hyper=1
// CHECK-NEXT:   pinta.nop queue=store pop_prev
// CHECK-NEXT:   pinta.halt
// CHECK-NEXT: }

// CHECK-GENERIC:      "pinta.program"() <{sym_name = "train_step", arg_roles = ["param:W", "state:W:m", "points:pde", "seed", "step"], result_roles = ["param:W", "state:W:m", "loss"], constants = [1.000000e+00 : f64, 1.000000e-03 : f64, 9.000000e-01 : f64], const_base = 64 : i64, dram_words = 70 : i64}> ({
// CHECK-GENERIC-NEXT:   "pinta.tensor"() <{sym_name = "W", kind = "param", key = "W", address = 0 : i64, shape = [2 : i64, 4 : i64]}> : () -> ()
// CHECK-GENERIC:        "pinta.load"() <{fields = {fmt = "f32", dst = 0 : i64, src = 0 : i64, rows = 2 : i64, cols = 4 : i64, stride = 4 : i64, push_next = 1 : i64}}> {note = "%W"} : () -> ()
// CHECK-GENERIC:        "pinta.halt"() <{fields = {}}> : () -> ()
