package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/lang"
	"etap/lang/ast"
	"etap/loader"
	"etap/maps"
	"etap/sema"
	"etap/tapsets"
)

// options are the command-line settings, named as stap names them.
type options struct {
	script  string
	pass    int
	verbose int
	command string
	pid     int
	timeout int
	defines []string
	// suppressErrors is --suppress-handler-errors.
	suppressErrors bool
	// includes are -I directories of tapsets beside etap's own.
	includes []string
	// unoptimized is -u: no folding, no dead-code or unused elision.
	unoptimized bool
	// list and listVars are -l and -L patterns.
	list, listVars string
}

func newCommand(stdout, stderr io.Writer) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "etap [options] FILE [ARGS...]\n  etap [options] -e SCRIPT [ARGS...]",
		Short: "Run SystemTap scripts on eBPF",
		Long: "etap runs SystemTap (stp) scripts on eBPF: it parses and checks the script,\n" +
			"compiles it to BPF, loads and attaches its probes, and prints what they report.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.script == "" && len(args) == 0 && o.list == "" && o.listVars == "" {
				return errors.New("no script: give a FILE or -e SCRIPT (see etap --help)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.pass < 1 || o.pass > 5 {
				return fmt.Errorf("-p %d: passes are 1 (parse) to 5 (run)", o.pass)
			}
			if o.list != "" || o.listVars != "" {
				return listPoints(o, stdout, stderr)
			}
			return runEtap(cmd.Context(), o, args, stdout, stderr)
		},
	}
	f := cmd.Flags()
	// Options end at the script: what follows are the script's arguments.
	f.SetInterspersed(false)
	f.StringVarP(&o.script, "script", "e", "", "run SCRIPT given on the command line")
	f.IntVarP(&o.pass, "pass", "p", 5, "stop after pass `N`: 1 parse, 2 elaborate, 3 translate (BPF listing), 4 load and verify")
	f.CountVarP(&o.verbose, "verbose", "v", "print the time each pass takes")
	f.StringVarP(&o.command, "command", "c", "", "run `CMD`, set target() to its pid and end when it exits")
	f.IntVarP(&o.pid, "pid", "x", 0, "set target() to `PID`")
	f.IntVarP(&o.timeout, "timeout", "T", 0, "end the run after `SECONDS`")
	f.StringArrayVarP(&o.includes, "include", "I", nil, "add the tapsets (*.stp) of `DIR` to the library")
	f.BoolVarP(&o.unoptimized, "unoptimized", "u", false, "do not fold constants or elide dead code, unused functions and globals")
	f.StringArrayVarP(&o.defines, "define", "D", nil, "set a limit: `NAME=VALUE` (MAXSTRINGLEN, MAXMAPENTRIES, MAXACTION, MAXNESTING, MAXERRORS)")
	f.BoolVar(&o.suppressErrors, "suppress-handler-errors", false, "end a probe handler quietly on a runtime error, without ending the run")
	f.StringVarP(&o.list, "list", "l", "", "list the probe points `PATTERN` matches")
	f.StringVarP(&o.listVars, "list-vars", "L", "", "list the probe points `PATTERN` matches with their variables")
	return cmd
}

// pipeline is one invocation of etap, pass by pass.
type pipeline struct {
	o              options
	stdout, stderr io.Writer
	sources        map[string]string
	started        time.Time
}

func runEtap(ctx context.Context, o options, args []string, stdout, stderr io.Writer) error {
	p := &pipeline{o: o, stdout: stdout, stderr: stderr, sources: map[string]string{}, started: time.Now()}
	compileOpts, err := parseDefines(o.defines)
	if err != nil {
		return err
	}
	compileOpts.SuppressErrors = o.suppressErrors

	name, src, scriptArgs, err := readScript(o, args)
	if err != nil {
		return err
	}
	p.sources[name] = src
	file, diags := lang.Parse(name, src, scriptArgs)
	if err := p.report(diags); err != nil {
		return err
	}
	p.pass(1, "parsed user script")
	if o.pass == 1 {
		lang.Print(stdout, file)
		return nil
	}

	library, err := p.parseTapsets()
	if err != nil {
		return err
	}
	ensureTracefs()
	kernel := sema.NewTracefs(sema.DefaultTracefsRoot)
	prog, diags := sema.Check([]*ast.File{file}, sema.Options{
		Kernel:  kernel,
		Library: bpf.Library(),
		Tapsets: library,

		Unoptimized: o.unoptimized,
	})
	if err := p.report(diags); err != nil {
		return err
	}
	p.pass(2, "analyzed script")
	if o.pass == 2 {
		sema.Dump(stdout, prog)
		return nil
	}

	compileOpts.Sources = p.source
	out, diags := bpf.Compile(prog, compileOpts)
	if err := p.report(diags); err != nil {
		return err
	}
	p.pass(3, "translated to BPF")
	if o.pass == 3 {
		out.Listing(stdout)
		return nil
	}

	session, err := loader.LoadWithBTF(out, kernel.BTFCache())
	if err != nil {
		return p.fail(err)
	}
	defer session.Close()
	p.pass(4, "loaded and verified BPF programs")
	if o.verbose > 0 {
		for _, how := range session.Mechanisms() {
			fmt.Fprintf(p.stderr, "Pass 4: probe %s.\n", how)
		}
	}
	if o.pass == 4 {
		return nil
	}
	return p.run(ctx, session)
}

// run is pass 5: attach, run until the end, report.
func (p *pipeline) run(ctx context.Context, session *loader.Session) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ro := loader.RunOptions{
		Target:  p.o.pid,
		Timeout: time.Duration(p.o.timeout) * time.Second,
		Stdout:  p.stdout,
		Stderr:  p.stderr,
	}
	if p.o.command != "" {
		child, err := startChild(p.o.command)
		if err != nil {
			return err
		}
		defer child.stop()
		ro.Target, ro.Start, ro.Done = child.pid, child.release, child.done
	}
	if p.o.verbose > 0 {
		fmt.Fprintln(p.stderr, "Pass 5: starting run.")
	}
	res, err := session.Run(ctx, ro)
	if err != nil {
		return p.fail(err)
	}
	p.pass(5, "run completed")
	if res.Errors > 0 {
		return exitError{1}
	}
	return nil
}

// fail renders an error of the loader that is placed in the script (a
// verifier rejection, a probe the kernel cannot attach) with its source
// line, and passes any other error on.
func (p *pipeline) fail(err error) error {
	var ve *loader.VerifierError
	var d *diag.Diagnostic
	switch {
	case errors.As(err, &ve):
		diag.Render(p.stderr, ve.Diagnostic, p.source)
		if p.o.verbose > 0 {
			fmt.Fprintln(p.stderr, strings.Join(ve.Log, "\n"))
		}
	case errors.As(err, &d):
		diag.Render(p.stderr, d, p.source)
	default:
		return err
	}
	return exitError{1}
}

// pass prints a pass's time with -v, as stap's "Pass N: ... in Xms".
func (p *pipeline) pass(n int, what string) {
	if p.o.verbose == 0 {
		return
	}
	fmt.Fprintf(p.stderr, "Pass %d: %s in %.1fms.\n", n, what, float64(time.Since(p.started).Microseconds())/1000)
	p.started = time.Now()
}

func (p *pipeline) source(file string) (string, bool) {
	s, ok := p.sources[file]
	return s, ok
}

// report renders diagnostics and fails when any is an error.
func (p *pipeline) report(l *diag.List) error {
	if l == nil {
		return nil
	}
	diag.RenderList(p.stderr, l, p.source)
	if l.HasErrors() {
		return exitError{1}
	}
	return nil
}

// listPoints is -l and -L: the probe points a pattern matches, one a
// line, with their variables for -L.
func listPoints(o options, stdout, stderr io.Writer) error {
	p := &pipeline{o: o, stdout: stdout, stderr: stderr, sources: map[string]string{}}
	pattern := o.list
	if o.listVars != "" {
		pattern = o.listVars
	}
	// The pattern parses as the point of a probe, so that its messages
	// point into it.
	const name, prefix = "<pattern>", "probe "
	p.sources[name] = prefix + pattern + " {}"
	file, diags := lang.Parse(name, p.sources[name], nil)
	if err := p.report(diags); err != nil {
		return err
	}
	library, err := p.parseTapsets()
	if err != nil {
		return err
	}
	ensureTracefs()
	opts := sema.Options{Kernel: sema.NewTracefs(sema.DefaultTracefsRoot), Library: bpf.Library(), Tapsets: library}
	var lines []string
	for _, d := range file.Decls {
		decl, ok := d.(*ast.ProbeDecl)
		if !ok {
			return fmt.Errorf("-l %s: not a probe point", pattern)
		}
		for _, pp := range decl.Points {
			listed, diags := sema.List(pp, opts)
			if err := p.report(diags); err != nil {
				return err
			}
			for _, l := range listed {
				if o.listVars != "" {
					lines = append(lines, l.Line())
				} else {
					lines = append(lines, l.Text)
				}
			}
		}
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// parseTapsets parses etap's tapsets and those of the -I directories.
// Their text joins the sources, so that a diagnostic located in a tapset
// shows its line.
func (p *pipeline) parseTapsets() ([]*ast.File, error) {
	type source struct {
		fsys fs.FS
		dir  string // for names in messages
	}
	sources := []source{{tapsets.FS, "tapsets"}}
	for _, dir := range p.o.includes {
		sources = append(sources, source{os.DirFS(dir), dir})
	}
	var files []*ast.File
	for _, src := range sources {
		// stap looks in some subdirectories of a tapset directory, named
		// after the architecture and kernel version; etap reads them all.
		var names []string
		err := fs.WalkDir(src.fsys, ".", func(name string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(name, ".stp") {
				names = append(names, name)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("-I %s: %w", src.dir, err)
		}
		for _, name := range names {
			text, err := fs.ReadFile(src.fsys, name)
			if err != nil {
				return nil, fmt.Errorf("read tapset: %w", err)
			}
			path := filepath.Join(src.dir, name)
			p.sources[path] = string(text)
			file, diags := lang.Parse(path, string(text), nil)
			if err := p.report(diags); err != nil {
				return nil, err
			}
			files = append(files, file)
		}
	}
	return files, nil
}

// readScript returns the script's name for messages, its text and its
// arguments.
func readScript(o options, args []string) (name, src string, scriptArgs []string, err error) {
	if o.script != "" {
		return "<input>", o.script, args, nil
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return "", "", nil, fmt.Errorf("read script: %w", err)
	}
	return args[0], string(b), args[1:], nil
}

// maxStringLen bounds MAXSTRINGLEN.
const maxStringLen = 4096

// parseDefines applies -D NAME=VALUE settings.
func parseDefines(defines []string) (bpf.Options, error) {
	o := bpf.Options{Params: maps.DefaultParams(), MaxAction: bpf.DefaultMaxAction}
	for _, d := range defines {
		name, val, ok := strings.Cut(d, "=")
		n, err := strconv.Atoi(val)
		// MAXERRORS=0, the default, is the only limit that can be 0.
		if !ok || err != nil || n < 0 || n == 0 && name != "MAXERRORS" {
			return o, fmt.Errorf("-D %s: want NAME=NUMBER", d)
		}
		switch name {
		case "MAXSTRINGLEN":
			// Slots are copied a word at a time and hold at least a comm;
			// a few of them must fit the 32 KiB scratch of a probe.
			if n > maxStringLen {
				return o, fmt.Errorf("-D %s: at most %d", d, maxStringLen)
			}
			o.Params.StringLen = max(16, (n+7)&^7)
			o.Params.MaxStringLen = n
		case "MAXMAPENTRIES":
			o.Params.MaxMapEntries = n
		case "MAXACTION":
			o.MaxAction = n
		case "MAXNESTING":
			o.MaxNesting = n
		case "MAXERRORS":
			o.MaxErrors = n
		default:
			return o, fmt.Errorf("-D %s: etap knows MAXSTRINGLEN, MAXMAPENTRIES, MAXACTION, MAXNESTING and MAXERRORS", name)
		}
	}
	return o, nil
}

// ensureTracefs mounts tracefs where kernels expect it, when it is not
// mounted yet; without it no tracepoint can be found.
func ensureTracefs() {
	if _, err := os.Stat(sema.DefaultTracefsRoot + "/events"); err == nil {
		return
	}
	syscall.Mount("nodev", sema.DefaultTracefsRoot, "tracefs", 0, "")
}
