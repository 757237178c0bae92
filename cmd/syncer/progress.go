package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"syncer/internal/importer"
	"syncer/internal/pipeline"
	"syncer/internal/progress"
)

var (
	_ pipeline.Progress = (*progress.Stream)(nil)
	_ importer.Progress = (*progress.Stream)(nil)
)

// startProgress starts the progress display of a command on stderr: live
// lines on a terminal, else a log line per running stream every few
// seconds. Close it before the command prints its summary. While lines
// are drawn, stdout on the same terminal writes above them too.
func (e *env) startProgress() *progress.Display {
	if e.errOut == nil {
		e.errOut = progress.NewOutput(e.stderr)
		e.stderr = e.errOut
	}
	bars := isTerminal(e.errOut.Writer()) && os.Getenv("TERM") != "dumb"
	if bars && isTerminal(e.stdout) {
		e.stdout = e.errOut.Beside(e.stdout)
	}
	return progress.New(progress.Options{Out: e.errOut, Bars: bars, Logger: e.logger})
}

// syncProgress shows the runs of a sync on d.
func syncProgress(d *progress.Display) pipeline.ProgressFunc {
	return func(source, stream string, runID int64) pipeline.Progress {
		return d.Start(progress.Task{Source: source, Stream: stream, RunID: runID})
	}
}

// importProgress shows the imports of files on d, by bytes read.
func importProgress(d *progress.Display) importer.ProgressFunc {
	return func(source, format, path string, runID int64) importer.Progress {
		return d.Start(progress.Task{Source: source, Stream: format, RunID: runID, File: path, Unit: progress.Bytes})
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
