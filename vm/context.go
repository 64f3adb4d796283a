package vm

// ContextAddress returns the address that byte off of the context a Run
// gets has in the program. A test can then build a context that holds
// pointers into itself, as the kernel structures that a kprobe's registers
// point to hold pointers to each other: the helpers that read kernel memory
// read such addresses in the context.
func ContextAddress(off uint32) uint64 { return pointer(regionCtx, off) }
