package bpf

import (
	"fmt"
	"io"
	"sort"
)

// Listing writes what a compile made, for -p3: each program with the
// script lines its instructions come from, then the maps.
func (o *Output) Listing(w io.Writer) {
	for _, k := range o.Kernel {
		fmt.Fprintf(w, "# %s: %s, in the kernel (%s)\n", k.Name, k.Point.Text, k.attachText())
		fmt.Fprintf(w, "%v\n", o.Spec.Programs[k.Name].Instructions)
	}
	for _, u := range o.User {
		fmt.Fprintf(w, "# %s: %s, in user space\n", u.Name, u.Text)
		fmt.Fprintf(w, "%v\n", u.Instructions)
	}
	names := make([]string, 0, len(o.Spec.Maps))
	for n := range o.Spec.Maps {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "# maps")
	for _, n := range names {
		m := o.Spec.Maps[n]
		fmt.Fprintf(w, "%s: %s key %d value %d entries %d\n", n, m.Type, m.KeySize, m.ValueSize, m.MaxEntries)
	}
}
