package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// probed is the kernel function the self-test probes, the one the first
// kernel.function tests use.
const probed = "vfs_read"

// selfTest checks, in this guest's kernel, every step kernel.function probes
// depend on: tracefs with kprobe_events, the function and its parameter
// names in BTF, and a BPF program loaded and attached as a kprobe and as a
// kretprobe that really fire when the function runs.
func selfTest() error {
	if _, err := os.Stat("/sys/kernel/tracing/kprobe_events"); err != nil {
		return fmt.Errorf("no kprobe_events in tracefs (CONFIG_KPROBE_EVENTS): %w", err)
	}

	// $count and $file come from the function's prototype in BTF.
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return fmt.Errorf("load kernel BTF: %w", err)
	}
	var fn *btf.Func
	if err := spec.TypeByName(probed, &fn); err != nil {
		return fmt.Errorf("%s in BTF: %w", probed, err)
	}
	proto, ok := fn.Type.(*btf.FuncProto)
	if !ok {
		return fmt.Errorf("%s in BTF: type %T, want a function prototype", probed, fn.Type)
	}
	var params []string
	for _, p := range proto.Params {
		params = append(params, p.Name)
	}
	if !slices.Contains(params, "file") || !slices.Contains(params, "count") {
		return fmt.Errorf("%s in BTF has parameters %q, want file and count among them", probed, params)
	}
	logf("selftest: BTF: %s(%s)", probed, params)

	// Slot 0 counts entries, slot 1 returns.
	counts, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	if err != nil {
		return fmt.Errorf("create map: %w", err)
	}
	defer counts.Close()
	attach := []struct {
		name string
		fn   func(string, *ebpf.Program, *link.KprobeOptions) (link.Link, error)
	}{
		{"kprobe", link.Kprobe},
		{"kretprobe", link.Kretprobe},
	}
	for slot, a := range attach {
		prog, err := counter(counts, int32(slot))
		if err != nil {
			return fmt.Errorf("load %s program: %w", a.name, err)
		}
		defer prog.Close()
		l, err := a.fn(probed, prog, nil)
		if err != nil {
			return fmt.Errorf("attach %s %s: %w", a.name, probed, err)
		}
		defer l.Close()
	}

	// Reading a file goes through read(2) → ksys_read → vfs_read.
	for range 3 {
		if _, err := os.ReadFile("/proc/version"); err != nil {
			return err
		}
	}
	var errs []error
	for slot, a := range attach {
		var n uint64
		if err := counts.Lookup(uint32(slot), &n); err != nil {
			return fmt.Errorf("read %s count: %w", a.name, err)
		}
		logf("selftest: %s on %s fired %d times", a.name, probed, n)
		if n == 0 {
			errs = append(errs, fmt.Errorf("%s on %s never fired", a.name, probed))
		}
	}
	return errors.Join(errs...)
}

// counter loads a kprobe program that adds one to slot of the array map m:
//
//	u32 key = slot; u64 *v = bpf_map_lookup_elem(m, &key); if (v) __sync_fetch_and_add(v, 1); return 0;
func counter(m *ebpf.Map, slot int32) (*ebpf.Program, error) {
	return ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.Kprobe,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.StoreImm(asm.RFP, -4, int64(slot), asm.Word),
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Imm(asm.R1, 1),
			asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
			asm.Return(),
		},
	})
}
