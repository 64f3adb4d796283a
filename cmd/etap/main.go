// Command etap runs SystemTap scripts on eBPF.
//
//	etap [options] FILE [ARGS...]
//	etap [options] -e SCRIPT [ARGS...]
package main

import (
	"errors"
	"fmt"
	"os"

	"etap/diag"
)

func main() {
	err := newCommand(os.Stdout, os.Stderr).Execute()
	os.Exit(exitCode(err))
}

// exitError ends etap with a status after the problem was reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode reports err (unless it was reported already) and returns the
// process exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var d *diag.Diagnostic
	if errors.As(err, &d) {
		diag.Render(os.Stderr, d, nil)
		return 1
	}
	fmt.Fprintf(os.Stderr, "etap: %v\n", err)
	return 1
}
