package output

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"

	"etap/maps"
)

// flushAt is how much formatted output the Printer holds before writing it
// out on its own; the run loop also flushes after every drain.
const flushAt = 64 << 10

// Event is what a record asks of the run loop.
type Event struct {
	// Exit is set by exit(): the run should end.
	Exit bool
	// Error is set by a runtime error, already reported on stderr.
	Error bool
}

// Printer decodes ring-buffer records and writes what they say. It buffers
// standard output, so printing costs no system call per record; call Flush
// after each drain. A Printer is not safe for concurrent use.
type Printer struct {
	abi    *maps.ABI
	sites  []printSite
	stdout io.Writer
	stderr io.Writer
	buf    []byte
	vals   []maps.Value
	// symbols names the addresses of symbolic strings; made on first use.
	symbols *Symbols
	// syms names kernel addresses for the conversions of print sites;
	// symsWarned is set once the failure to read them is reported.
	syms       *Kallsyms
	symsWarned bool
}

// printSite is a PrintSite prepared for decoding.
type printSite struct {
	dirs  []maps.Directive
	args  []maps.Type
	convs []maps.Conv
	sizes []int
	offs  []int
	size  int
	// last holds the last string seen in each column. Strings such as
	// execname() repeat from record to record, and reusing the previous
	// value when the bytes match saves an allocation per string.
	last []string
	// err is set when the site cannot be printed: its format does not
	// parse or does not match its argument types, a compiler bug. Records
	// of other sites still print.
	err error
}

// NewPrinter returns a Printer for records of a script compiled to abi,
// writing printf output to stdout and error reports to stderr. Every print
// site's format is parsed once, here.
func NewPrinter(abi *maps.ABI, stdout, stderr io.Writer) *Printer {
	p := &Printer{abi: abi, syms: procKallsyms(), stdout: stdout, stderr: stderr, sites: make([]printSite, len(abi.Prints))}
	for i, ps := range abi.Prints {
		s := &p.sites[i]
		s.args, s.convs, s.sizes = ps.Args, ps.Convs, ps.Sizes
		s.offs = maps.TupleOffsets(ps.Sizes)
		s.size = maps.TupleSize(ps.Sizes)
		s.last = make([]string, len(ps.Args))
		dirs, err := maps.ParseFormat(ps.Format)
		if err != nil {
			s.err = fmt.Errorf("print site %d: format %q: %w", i, ps.Format, err)
			continue
		}
		if want := maps.FormatArgTypes(dirs); !slices.Equal(want, ps.Printed()) {
			s.err = fmt.Errorf("print site %d: format %q takes %v, record carries %v", i, ps.Format, want, ps.Printed())
			continue
		}
		s.dirs = dirs
	}
	return p
}

// Handle decodes one record and acts on it: a print record is formatted
// into the stdout buffer, an error record is reported on stderr, an exit
// record is passed on as an Event. A malformed record is an error.
func (p *Printer) Handle(record []byte) (Event, error) {
	if len(record) < maps.HeaderSize {
		return Event{}, fmt.Errorf("short record: %d bytes", len(record))
	}
	kind := binary.LittleEndian.Uint32(record)
	id := binary.LittleEndian.Uint32(record[4:])
	switch kind {
	case maps.KindPrint:
		return Event{}, p.print(id, record[maps.HeaderSize:])
	case maps.KindHist:
		return Event{}, p.hist(id, record[maps.HeaderSize:])
	case maps.KindExit:
		return Event{Exit: true}, nil
	case maps.KindError:
		if uint64(id) >= uint64(len(p.abi.Errors)) {
			return Event{}, fmt.Errorf("error record: no error site %d", id)
		}
		site := &p.abi.Errors[id]
		msg := site.Message
		if msg == "" {
			m, err := p.message(record)
			if err != nil {
				return Event{}, err
			}
			msg = m
		}
		return Event{Error: true}, p.report("ERROR: ", msg, site.Near, site.Where)
	case maps.KindWarning:
		msg, err := p.message(record)
		if err != nil {
			return Event{}, err
		}
		return Event{}, p.report("WARNING: ", msg, "", "")
	}
	return Event{}, fmt.Errorf("record of unknown kind %d", kind)
}

func (p *Printer) print(id uint32, body []byte) error {
	if uint64(id) >= uint64(len(p.sites)) {
		return fmt.Errorf("print record: no print site %d", id)
	}
	s := &p.sites[id]
	if s.err != nil {
		return s.err
	}
	// A longer body is fine: codegen may round a reservation up.
	if len(body) < s.size {
		return fmt.Errorf("print record for site %d: %d bytes of arguments, want %d", id, len(body), s.size)
	}
	vals := p.vals[:0]
	for i, t := range s.args {
		b := body[s.offs[i]:]
		if s.convs != nil && s.convs[i] != maps.ConvNone {
			vals = append(vals, maps.StringValue(p.syms.convert(s.convs[i], addresses(t, b))))
			if p.syms.err != nil && !p.symsWarned {
				p.symsWarned = true
				fmt.Fprintf(p.stderr, "WARNING: cannot read kernel symbols, printing addresses instead: %v\n", p.syms.err)
			}
			continue
		}
		switch t {
		case maps.Long:
			vals = append(vals, maps.LongValue(int64(binary.LittleEndian.Uint64(b))))
			continue
		case maps.Memory:
			vals = append(vals, maps.Value{Type: maps.Memory, Str: string(b[:s.sizes[i]])})
			continue
		}
		b = b[:s.sizes[i]]
		if n := slices.Index(b, 0); n >= 0 {
			b = b[:n]
		}
		// The comparison does not allocate; only a new string does.
		if string(b) != s.last[i] {
			s.last[i] = string(b)
		}
		vals = append(vals, maps.StringValue(p.expand(s.last[i])))
	}
	p.vals = vals
	p.buf = AppendFormat(p.buf, s.dirs, vals)
	if len(p.buf) >= flushAt {
		return p.Flush()
	}
	return nil
}

// addresses decodes a Long address, or the frames of a Stack up to its
// first zero.
func addresses(t maps.Type, b []byte) []uint64 {
	if t != maps.Stack {
		return []uint64{binary.LittleEndian.Uint64(b)}
	}
	var addrs []uint64
	for i := 0; i < maps.MaxBacktrace; i++ {
		a := binary.LittleEndian.Uint64(b[8*i:])
		if a == 0 {
			break
		}
		addrs = append(addrs, a)
	}
	return addrs
}

// expand replaces the symbolic strings in str by the names of their
// addresses.
func (p *Printer) expand(str string) string {
	if strings.IndexByte(str, maps.SymbolicEscape) < 0 {
		return str
	}
	return maps.ExpandSymbolic(str, p.userSymbols().Name)
}

func (p *Printer) userSymbols() *Symbols {
	if p.symbols == nil {
		p.symbols = NewSymbols()
	}
	return p.symbols
}

// RememberProcess reads the mappings of process pid now, so that its
// addresses can be named after it has exited.
func (p *Printer) RememberProcess(pid int) { p.userSymbols().Remember(uint32(pid)) }

// ExpandEntries replaces the symbolic strings in the keys and values of
// a global's entries, for DisplayGlobal. Strings of two addresses in one
// function stay two entries, now of the same name.
func (p *Printer) ExpandEntries(entries []Entry) {
	for i := range entries {
		e := &entries[i]
		if e.Value.Type == maps.String {
			e.Value.Str = p.expand(e.Value.Str)
		}
		for j := range e.Key {
			if e.Key[j].Type == maps.String {
				e.Key[j].Str = p.expand(e.Key[j].Str)
			}
		}
	}
}

// message is the string that follows the header of an error or warning
// record.
func (p *Printer) message(record []byte) (string, error) {
	body := record[maps.HeaderSize:]
	if len(body) < p.abi.StringLen {
		return "", fmt.Errorf("message record: %d bytes, want %d", len(body), p.abi.StringLen)
	}
	return maps.CString(body[:p.abi.StringLen]), nil
}

// report writes an error or a warning on stderr as stap does, after the
// output printed before it: "ERROR: msg near what at file:line:col". A
// message gets a newline unless it ends with one.
func (p *Printer) report(prefix, msg, near, where string) error {
	if err := p.Flush(); err != nil {
		return err
	}
	line := prefix + msg
	if near != "" {
		line += " near " + near
	}
	if where != "" {
		line += " at " + where
	}
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	if _, err := io.WriteString(p.stderr, line); err != nil {
		return fmt.Errorf("write stderr: %w", err)
	}
	return nil
}

// Flush writes out the buffered standard output. Output that could not be
// written is dropped rather than kept, so a closed pipe cannot make the
// buffer grow without bound.
func (p *Printer) Flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	_, err := p.stdout.Write(p.buf)
	p.buf = p.buf[:0]
	if err != nil {
		return fmt.Errorf("write stdout: %w", err)
	}
	return nil
}
