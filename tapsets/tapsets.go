// Package tapsets holds etap's library scripts: probe aliases such as
// syscall.openat, with the functions and globals they use. They are
// embedded in the binary, parsed once per run and handed to sema beside
// the user's script; sema takes from them only what the script uses.
package tapsets

import "embed"

// FS holds the library scripts, one *.stp file per subject.
//
//go:embed *.stp
var FS embed.FS
