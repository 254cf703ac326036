;; meter_reexport_raw.wat: the "meter" module for a metered guest instantiated as "guest.raw":
;; re-exports its counters (package meter) for the driver to import.
;;
;; Rebuild: wat2wasm --debug-names meter_reexport_raw.wat
(module $meter_reexport_raw
  (import "guest.raw" "alloclab.meter.instrs" (global $instrs (mut i64)))
  (import "guest.raw" "alloclab.meter.mem_ops" (global $mem_ops (mut i64)))
  (import "guest.raw" "alloclab.meter.bulk_bytes" (global $bulk_bytes (mut i64)))
  (export "instrs" (global $instrs))
  (export "mem_ops" (global $mem_ops))
  (export "bulk_bytes" (global $bulk_bytes)))
