package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"syncer/internal/importer"
	"syncer/internal/state"
)

// maxBadLinesShown is how many bad lines of a file import prints.
const maxBadLinesShown = 20

func (e *env) importFiles(ctx context.Context, args []string) error {
	var source, format string
	files, err := e.parseCommand("import", args, func(fs *flag.FlagSet) {
		fs.StringVar(&source, "source", "", "the configured source `NAME` the files come from (required)")
		fs.StringVar(&format, "format", "", "the files' format `F` (required): "+strings.Join(importer.Formats(), ", "))
	})
	if err != nil {
		return err
	}
	switch {
	case source == "" || format == "":
		return usagef("import needs --source NAME and --format F (formats: %s)", strings.Join(importer.Formats(), ", "))
	case len(files) == 0:
		return usagef("import needs at least one FILE after --source %s --format %s", source, format)
	}
	if err := e.loadConfig(true); err != nil {
		return err
	}
	src, err := e.configuredSource(source)
	if err != nil {
		return err
	}
	if err := importer.CheckFormat(src.Platform, format); err != nil {
		return usagef("--format: %v", err)
	}
	pool, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if err := e.checkMigrated(ctx); err != nil {
		return err
	}

	im := importer.New(state.New(pool, e.logger), e.logger)
	display := e.startProgress()
	im.Progress = importProgress(display)
	var good, partial, failed int
	for _, path := range files {
		if ctx.Err() != nil {
			fmt.Fprintf(e.stderr, "%s: not imported: stopped\n", path)
			failed++
			continue
		}
		res, err := im.Import(ctx, src, format, path)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", path, format, state.StatusFailed)
			fmt.Fprintf(e.stderr, "%s: %s\n", path, e.redactor.String(err.Error()))
		case res.Skipped:
			good++
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\talready imported at %s; nothing to do\n", path, format, res.Status,
				res.ImportedAt.UTC().Format(time.RFC3339))
		default:
			if res.Status == state.StatusSucceeded {
				good++
			} else {
				partial++
			}
			line := fmt.Sprintf("%s\t%s\t%s\trows %d\twritten %d\tbad %d", path, format, res.Status, res.Rows, res.Written, res.Bad)
			if res.Resumed > 0 {
				line += fmt.Sprintf("\tresumed after %d record(s) an interrupted import committed (%d bad)", res.Resumed, res.EarlierBad)
			}
			fmt.Fprintln(e.stdout, line)
			e.printBadLines(path, res)
		}
	}
	display.Close()
	code := exitPartial
	switch {
	case partial == 0 && failed == 0:
		code = exitOK
	case failed == len(files):
		code = exitFailed
	}
	return &exitError{code: code}
}

func (e *env) printBadLines(path string, res importer.Result) {
	for i, b := range res.BadLines {
		if i == maxBadLinesShown {
			fmt.Fprintf(e.stderr, "%s: ... and %d more bad record(s)\n", path, res.Bad-maxBadLinesShown)
			break
		}
		fmt.Fprintf(e.stderr, "%s: line %d: %s\n", path, b.Line, b.Reason)
	}
	if res.Bad > 0 {
		fmt.Fprintf(e.stderr, "%s: %d record(s) could not be read and are in the quarantine table (stream %s, run %d)\n", path, res.Bad, res.Format, res.RunID)
	}
}
