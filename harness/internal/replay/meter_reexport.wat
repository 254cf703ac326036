;; meter_reexport.wat: the "meter" module for a metered guest instantiated as "guest":
;; re-exports its counters (package meter) for the driver to import.
;;
;; Rebuild: wat2wasm --debug-names meter_reexport.wat
(module $meter_reexport
  (import "guest" "alloclab.meter.instrs" (global $instrs (mut i64)))
  (import "guest" "alloclab.meter.mem_ops" (global $mem_ops (mut i64)))
  (import "guest" "alloclab.meter.bulk_bytes" (global $bulk_bytes (mut i64)))
  (export "instrs" (global $instrs))
  (export "mem_ops" (global $mem_ops))
  (export "bulk_bytes" (global $bulk_bytes)))
