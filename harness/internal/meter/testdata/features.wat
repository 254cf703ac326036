;; features.wat: one function per proposal whose immediates the rewrite decodes
;; (atomics and tail calls, which wat2wasm leaves off, are in meter_test.go);
;; meter_test.go checks the metered module validates and counts them.
;;
;; Rebuild: wat2wasm --debug-names features.wat
(module $features
  (type $pair (func (param i32) (result i32 i32)))
  (memory (export "memory") 1 1)
  (table $t 2 funcref)
  (data $d "abcd")
  (elem declare func $mv)

  ;; SIMD: 3 memory ops (load, load64_zero, store32_lane), 12 instructions.
  (func (export "simd") (result i32)
    (v128.store32_lane 1 (i32.const 32)
      (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
        (i32x4.replace_lane 2 (v128.load (i32.const 0)) (i32.const 9))
        (v128.load64_zero (i32.const 16))))
    (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))

  ;; Multi-value block type, typed select, sign extension, saturating
  ;; conversion, reference types and table ops, memory.init: 2 bulk bytes.
  (func $mv (export "mv") (param i32) (result i32 i32)
    local.get 0
    block (type $pair) ;; [i32] -> [i32 i32]
      i32.const 255
      i32.extend8_s
    end
    drop
    drop
    (table.set $t (i32.const 0) (ref.func $mv))
    (drop (ref.is_null (table.get $t (i32.const 0))))
    (drop (table.size $t))
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 2))
    (select (result i32) (i32.trunc_sat_f32_s (f32.const 1.5)) (i32.const 0) (i32.const 1))
    (local.get 0))

)
