;; reset_reexport.wat: the "abi.reset" shim for a guest that exports reset.
;;
;; Rebuild: wat2wasm --debug-names reset_reexport.wat
(module $reset_reexport
  (import "guest" "reset" (func $reset))
  (export "reset" (func $reset)))
