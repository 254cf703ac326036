;; reset_absent.wat: the "abi.reset" shim for a guest without reset. The harness
;; lowers every reset to frees of the live blocks for such a guest, so this is
;; never called; it traps if it ever is.
;;
;; Rebuild: wat2wasm --debug-names reset_absent.wat
(module $reset_absent
  (func (export "reset") unreachable))
