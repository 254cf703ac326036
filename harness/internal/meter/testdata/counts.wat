;; counts.wat: functions whose metered counts meter_test.go works out by hand.
;;
;; Rebuild: wat2wasm --debug-names counts.wat
(module $counts
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))

  ;; sum of the first $n words of memory
  (func (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $s))

  (func (export "pick") (param $c i32) (result i32)
    (if (result i32) (local.get $c)
      (then (i32.const 10))
      (else (i32.const 20))))

  (func (export "table") (param $k i32) (result i32)
    (block $b2
      (block $b1
        (block $b0 (br_table $b0 $b1 $b2 (local.get $k)))
        (return (i32.const 100)))
      (return (i32.const 200)))
    (i32.const 300))

  ;; fills $n bytes with 7, copies them to 100, and returns $x + $n: the new
  ;; local the bulk counter uses must not be $x.
  (func (export "bulk") (param $n i32) (result i32)
    (local $x i32)
    (local.set $x (i32.const 5))
    nop
    (memory.fill (i32.const 0) (i32.const 7) (local.get $n))
    (memory.copy (i32.const 100) (i32.const 0) (local.get $n))
    (i32.store8 (i32.const 0) (i32.load8_u (i32.const 1)))
    (i32.add (local.get $x) (local.get $n)))

  (func $inc (global.set $g (i32.add (global.get $g) (i32.const 1))))

  ;; calls $inc twice
  (func (export "calls") (result i32)
    (call $inc)
    (call $inc)
    (global.get $g))
)
