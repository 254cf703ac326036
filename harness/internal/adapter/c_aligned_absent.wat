;; c_aligned_absent.wat: "c.aligned" for a module without aligned_alloc. It
;; cannot honour an alignment above malloc's 16, so it returns 0 and the harness
;; reports the failed alloc; the check command says so beforehand.
;;
;; Rebuild: wat2wasm --debug-names c_aligned_absent.wat
(module $c_aligned_absent
  (func (export "aligned_alloc") (param i32 i32) (result i32) (i32.const 0)))
