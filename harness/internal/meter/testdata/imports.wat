;; imports.wat: a module that imports a global and defines one, so the counters'
;; indices come after both; meter_test.go checks the counts land in the counters
;; and not in the imported global.
;;
;; Rebuild: wat2wasm --debug-names imports.wat
(module $imports
  (import "env" "g" (global $g (mut i64)))
  (global $h (mut i64) (i64.const 0))
  ;; 6 instructions: global.get i64.const i64.add global.set global.get end
  (func (export "bump") (result i64)
    (global.set $h (i64.add (global.get $g) (i64.const 1)))
    (global.get $h)))
