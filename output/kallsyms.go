package output

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"etap/maps"
)

// Kallsyms resolves kernel addresses to symbols from /proc/kallsyms. It
// reads the file on first use: most scripts never print a symbol, and
// reading the kernel's 200,000 symbols takes tens of milliseconds.
type Kallsyms struct {
	open func() (io.ReadCloser, error)

	once sync.Once
	syms []ksym
	err  error
}

// ksym is one symbol: its address, name and module ("kernel" for the
// kernel itself).
type ksym struct {
	addr   uint64
	name   string
	module string
}

// NewKallsyms returns a Kallsyms that reads the table open gives, in the
// format of /proc/kallsyms.
func NewKallsyms(open func() (io.ReadCloser, error)) *Kallsyms {
	return &Kallsyms{open: open}
}

// procKallsyms is the running kernel's symbol table.
func procKallsyms() *Kallsyms {
	return NewKallsyms(func() (io.ReadCloser, error) { return os.Open("/proc/kallsyms") })
}

func (k *Kallsyms) load() {
	f, err := k.open()
	if err != nil {
		k.err = err
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ffffffff812c4b60 T vfs_read
		// ffffffffc0a01000 t ext4_file_open	[ext4]
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil || addr == 0 {
			continue // 0 when kptr_restrict hides the addresses
		}
		s := ksym{addr: addr, name: fields[2], module: "kernel"}
		if len(fields) > 3 {
			s.module = strings.Trim(fields[3], "[]")
		}
		k.syms = append(k.syms, s)
	}
	if k.err = sc.Err(); k.err != nil {
		return
	}
	sort.SliceStable(k.syms, func(i, j int) bool { return k.syms[i].addr < k.syms[j].addr })
}

// lookup finds the symbol that holds addr, and the size up to the next
// symbol.
func (k *Kallsyms) lookup(addr uint64) (s ksym, size uint64, ok bool) {
	k.once.Do(k.load)
	i := sort.Search(len(k.syms), func(i int) bool { return k.syms[i].addr > addr }) - 1
	if i < 0 {
		return ksym{}, 0, false
	}
	if i+1 < len(k.syms) {
		size = k.syms[i+1].addr - k.syms[i].addr
	}
	return k.syms[i], size, true
}

// Symname returns the symbol holding addr, or addr in hex when none does,
// as stap's symname().
func (k *Kallsyms) Symname(addr uint64) string {
	s, _, ok := k.lookup(addr)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	return s.name
}

// Symdata returns "symbol+offset/size [module]" for addr, as stap's
// symdata().
func (k *Kallsyms) Symdata(addr uint64) string {
	s, size, ok := k.lookup(addr)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	return fmt.Sprintf("%s+%#x/%#x [%s]", s.name, addr-s.addr, size, s.module)
}

// probeFrames drops the frames of the probe itself from the top of a
// stack: a raw tracepoint's program records the stack it runs on, which
// starts with the BPF program ([bpf]) and the kernel's bpf_trace_runN
// or __bpf_trace_EVENT that called it, where stap's starts at the probed
// code.
func (k *Kallsyms) probeFrames(addrs []uint64) []uint64 {
	for len(addrs) > 0 {
		s, _, ok := k.lookup(addrs[0])
		if !ok || s.module != "bpf" && !strings.HasPrefix(s.name, "bpf_trace_run") && !strings.HasPrefix(s.name, "__bpf_trace_") {
			break
		}
		addrs = addrs[1:]
	}
	return addrs
}

// convert turns an argument into the string its Conv says: an address
// (addrs[0]) or a stack.
func (k *Kallsyms) convert(conv maps.Conv, addrs []uint64) string {
	var b strings.Builder
	if conv == maps.ConvBacktrace || conv == maps.ConvPrintBacktrace {
		addrs = k.probeFrames(addrs)
	}
	switch conv {
	case maps.ConvSymname:
		return k.Symname(addrs[0])
	case maps.ConvSymdata:
		return k.Symdata(addrs[0])
	case maps.ConvBacktrace:
		for i, a := range addrs {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%#x", a)
		}
	case maps.ConvPrintBacktrace:
		for _, a := range addrs {
			fmt.Fprintf(&b, " %#016x : %s\n", a, k.Symdata(a))
		}
	}
	return b.String()
}
