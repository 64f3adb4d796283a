package output

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

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
}

// printSite is a PrintSite prepared for decoding.
type printSite struct {
	dirs  []maps.Directive
	args  []maps.Type
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
	p := &Printer{abi: abi, stdout: stdout, stderr: stderr, sites: make([]printSite, len(abi.Prints))}
	for i, ps := range abi.Prints {
		s := &p.sites[i]
		s.args = ps.Args
		s.sizes = ps.Sizes
		s.offs = maps.TupleOffsets(ps.Sizes)
		s.size = maps.TupleSize(ps.Sizes)
		s.last = make([]string, len(ps.Args))
		dirs, err := maps.ParseFormat(ps.Format)
		if err != nil {
			s.err = fmt.Errorf("print site %d: format %q: %w", i, ps.Format, err)
			continue
		}
		if want := maps.FormatArgTypes(dirs); !slices.Equal(want, ps.Args) {
			s.err = fmt.Errorf("print site %d: format %q takes %v, record carries %v", i, ps.Format, want, ps.Args)
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
		return Event{Error: true}, p.runtimeError(&p.abi.Errors[id])
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
		if t == maps.Long {
			vals = append(vals, maps.LongValue(int64(binary.LittleEndian.Uint64(b))))
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
		vals = append(vals, maps.StringValue(s.last[i]))
	}
	p.vals = vals
	p.buf = AppendFormat(p.buf, s.dirs, vals)
	if len(p.buf) >= flushAt {
		return p.Flush()
	}
	return nil
}

// runtimeError reports an error record as stap does, after the output
// printed before it.
func (p *Printer) runtimeError(e *maps.ErrorSite) error {
	if err := p.Flush(); err != nil {
		return err
	}
	msg := "ERROR: " + e.Message
	if e.Near != "" {
		msg += " near " + e.Near
	}
	if e.Where != "" {
		msg += " at " + e.Where
	}
	if _, err := io.WriteString(p.stderr, msg+"\n"); err != nil {
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
