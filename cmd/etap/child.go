package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// child is -c's command. It is started before the probes are attached, so
// that target() knows its pid, but held stopped at its first instruction
// (ptrace stops a traced child right after exec) until they are: no event
// of the command is missed and none of etap's own is counted. A simple
// command runs without a shell, so that target() is its own pid, as with
// stap; anything with shell syntax runs under /bin/sh -c.
type child struct {
	pid  int
	done chan struct{}
	// go is closed to let the command run, or to end it when kill is set.
	gate chan struct{}
	kill bool
}

func startChild(command string) (*child, error) {
	argv, simple := splitWords(command)
	if !simple {
		argv = []string{"/bin/sh", "-c", command}
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("-c: empty command")
	}
	c := &child{done: make(chan struct{}), gate: make(chan struct{})}
	started := make(chan error)
	go c.supervise(argv, started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("-c %s: %w", command, err)
	}
	return c, nil
}

// supervise runs on one locked OS thread: ptrace requests must come from
// the thread that became the tracer.
func (c *child) supervise(argv []string, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(c.done)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		started <- err
		return
	}
	c.pid = cmd.Process.Pid
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(c.pid, &ws, 0, nil); err != nil || !ws.Stopped() {
		started <- fmt.Errorf("command did not stop after exec (%v)", err)
		return
	}
	started <- nil
	<-c.gate
	if c.kill {
		cmd.Process.Kill()
	}
	syscall.PtraceDetach(c.pid)
	cmd.Wait()
}

// release lets the command run.
func (c *child) release() error {
	close(c.gate)
	return nil
}

// stop ends the command if it still runs when the run is over.
func (c *child) stop() {
	select {
	case <-c.gate:
		select {
		case <-c.done:
		default:
			syscall.Kill(c.pid, syscall.SIGTERM)
		}
	default:
		c.kill = true
		close(c.gate)
	}
	<-c.done
}
