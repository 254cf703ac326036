;; meter_absent.wat: the "meter" module for a guest that is not metered: counters
;; of its own that stay 0, for the driver to import.
;;
;; Rebuild: wat2wasm --debug-names meter_absent.wat
(module $meter_absent
  (global (export "instrs") (mut i64) (i64.const 0))
  (global (export "mem_ops") (mut i64) (i64.const 0))
  (global (export "bulk_bytes") (mut i64) (i64.const 0)))
