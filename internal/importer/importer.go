// Package importer loads exported files into the warehouse (syncer
// import): it reads a file, skips it when the same bytes were imported
// before, reads it with its platform's file reader, maps it with its
// transform and commits it through the loader in one transaction, inside a
// sync_runs row of mode import. Lines a reader cannot use go to quarantine
// with their line numbers; the rest loads. It must not know a file's layout
// (that is extract/<platform>) nor how rows are stored (package load).
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/config"
	"syncer/internal/extract/digisac"
	"syncer/internal/load"
	"syncer/internal/transform"
	"syncer/sql/queries"
)

// The file formats of syncer import.
const (
	DigisacTicketsCSV    = "digisac-tickets-csv"
	DigisacTranscriptTXT = "digisac-transcript-txt"
	WavySessionsCSV      = "wavy-sessions-csv"
	WavyMOJSON           = "wavy-mo-json"
)

// Formats lists every format, in the order the usage gives them.
func Formats() []string {
	return []string{DigisacTicketsCSV, DigisacTranscriptTXT, WavySessionsCSV, WavyMOJSON}
}

// formatPlatform says which platform's sources take each format, and
// whether this version reads it.
var formatPlatform = map[string]struct {
	platform string
	built    bool
}{
	DigisacTicketsCSV:    {config.Digisac, true},
	DigisacTranscriptTXT: {config.Digisac, true},
	WavySessionsCSV:      {config.Wavy, false},
	WavyMOJSON:           {config.Wavy, false},
}

// MaxFileSize is the largest file Import reads.
const MaxFileSize = 512 << 20

// StatusSkipped is the Result status of a file imported before.
const StatusSkipped = "skipped"

// ErrNotBuilt means a format exists in the contract but this version does
// not read it yet.
var ErrNotBuilt = errors.New("not built yet in this version")

// FormatError is a format that is unknown, or that the source's platform
// does not take: a mistake on the command line, not in the file.
type FormatError struct{ Msg string }

func (e *FormatError) Error() string { return e.Msg }

// CheckFormat reports whether a source of platform can import format: a
// *FormatError when it cannot, an error wrapping ErrNotBuilt when this
// version does not read the format yet.
func CheckFormat(platform, format string) error {
	f, ok := formatPlatform[format]
	switch {
	case !ok:
		return &FormatError{fmt.Sprintf("unknown format %q (formats: %s)", format, strings.Join(Formats(), ", "))}
	case f.platform != platform:
		return &FormatError{fmt.Sprintf("format %s is for %s sources, and this source is %s source", format, f.platform, load.WithArticle(platform))}
	case !f.built:
		return fmt.Errorf("format %s: %w", format, ErrNotBuilt)
	}
	return nil
}

// Importer imports files into one warehouse.
type Importer struct {
	Loader *load.Loader
	Logger *slog.Logger     // nil: no logs
	Now    func() time.Time // nil: time.Now
}

// Result is how the import of one file ended.
type Result struct {
	Path   string
	Format string
	// Skipped: the same bytes were imported for this source before
	// (ImportedAt); nothing was read or written.
	Skipped    bool
	ImportedAt time.Time
	RunID      int64
	Rows       int64 // records read: rows mapped plus bad lines
	Written    int64 // warehouse rows inserted or changed
	Bad        int64 // records quarantined
	Status     string
	// BadLines are the lines that could not be read, in file order.
	BadLines []BadLine
}

// BadLine is a line of the file that went to quarantine.
type BadLine struct {
	Line   int
	Reason string
}

// Import imports the file at path, of format, for src. A file that cannot
// be read at all comes back as an error with Status failed (and RunID when
// a run was recorded); bad lines alone are not an error (Status partial).
func (im *Importer) Import(ctx context.Context, src *config.Source, format, path string) (Result, error) {
	res := Result{Path: path, Format: format, Status: load.StatusFailed}
	if err := CheckFormat(src.Platform, format); err != nil {
		return res, err
	}
	now := im.Now
	if now == nil {
		now = time.Now
	}
	log := im.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("source", src.Name), slog.String("stream", format), slog.String("file", path))
	start := now()

	data, err := readFile(path)
	if err != nil {
		return res, err
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	s, err := im.Loader.Source(ctx, src.Name, src.Platform)
	if err != nil {
		return res, err
	}
	at, done, err := im.Loader.FileImported(ctx, s, hash)
	if err != nil {
		return res, err
	}
	if done {
		res.Skipped, res.ImportedAt, res.Status = true, at, StatusSkipped
		log.InfoContext(ctx, "file already imported; skipped", slog.Time("imported_at", at), slog.String("sha256", hash))
		return res, nil
	}

	run, err := im.Loader.StartRun(ctx, s, format, load.ModeImport, time.Time{}, time.Time{})
	if err != nil {
		return res, err
	}
	res.RunID = run.ID
	log = log.With(slog.Int64("run_id", run.ID))
	fail := func(err error) (Result, error) {
		// The run's error names the file; the caller knows it already.
		if _, ferr := im.Loader.FinishRun(ctx, run, load.StatusFailed, fmt.Errorf("%s: %w", filepath.Base(path), err)); ferr != nil {
			log.ErrorContext(ctx, "could not record the end of the import", slog.Any("error", ferr))
		}
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "import failed", slog.String("error", err.Error()))
		}
		return res, err
	}

	batch, bad, err := im.read(ctx, s, src, format, path, data)
	if err != nil {
		return fail(err)
	}
	base := filepath.Base(path)
	for _, b := range bad {
		batch.Rejections = append(batch.Rejections, transform.ExportBadLine(base, b.Line, b.Reason, b.Text))
		res.BadLines = append(res.BadLines, BadLine{Line: b.Line, Reason: b.Reason})
	}
	rows := batch.Rows()
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	c := load.Commit{
		Batch:    &batch,
		File:     &load.ImportedFile{SHA256: hash, Path: abs, Format: format, Rows: int64(rows)},
		Pages:    1,
		RowsRead: rows + len(bad),
	}
	cres, err := im.Loader.Commit(ctx, run, c)
	if err != nil {
		return fail(err)
	}
	res.Rows, res.Written, res.Bad = int64(rows+len(bad)), cres.Written, cres.Quarantined

	status, runErr := load.StatusSucceeded, error(nil)
	if cres.Quarantined > 0 {
		status = load.StatusPartial
		runErr = fmt.Errorf("%d record(s) of %s could not be read and are in the quarantine table", cres.Quarantined, base)
	}
	totals, err := im.Loader.FinishRun(ctx, run, status, runErr)
	if err != nil {
		log.ErrorContext(ctx, "could not record the end of the import", slog.Any("error", err))
	} else {
		status = totals.Status
	}
	res.Status = status
	attrs := []any{slog.String("status", status), slog.Int64("rows", res.Rows), slog.Int64("written", res.Written),
		slog.Int64("quarantined", res.Bad), slog.Duration("took", now().Sub(start))}
	if status == load.StatusPartial {
		log.WarnContext(ctx, "import partial: some lines could not be read", attrs...)
	} else {
		log.InfoContext(ctx, "import finished", attrs...)
	}
	return res, nil
}

// read parses data and maps it.
func (im *Importer) read(ctx context.Context, s load.Source, src *config.Source, format, path string, data []byte) (transform.Batch, []digisac.BadLine, error) {
	opts, err := digisac.NewTranscriptOptions(src.TimeZone, src.TranscriptLinePattern, src.TranscriptTimeLayouts)
	if err != nil {
		return transform.Batch{}, nil, err
	}
	loc := opts.Location
	switch format {
	case DigisacTicketsCSV:
		f, err := digisac.ParseTicketsCSV(path, data, loc)
		if err != nil {
			return transform.Batch{}, nil, err
		}
		return transform.DigisacTicketsCSV(f.Rows), f.Bad, nil
	case DigisacTranscriptTXT:
		f, err := digisac.ParseTranscript(path, data, opts)
		if err != nil {
			return transform.Batch{}, nil, err
		}
		conv, err := im.conversationID(ctx, s, f.Transcript.Protocol)
		if err != nil {
			return transform.Batch{}, nil, err
		}
		return transform.DigisacTranscript(f.Transcript, conv), f.Bad, nil
	}
	return transform.Batch{}, nil, fmt.Errorf("format %s: %w", format, ErrNotBuilt)
}

// conversationID gives the id of the warehouse's conversation with the
// protocol (the API's ticket first), else "protocol:<n>", the id an import
// gives a ticket the API has not brought yet.
func (im *Importer) conversationID(ctx context.Context, s load.Source, protocol string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var id string
	err := im.Loader.Pool().QueryRow(ctx, queries.Get("conversation_by_protocol"), s.ID, protocol).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "protocol:" + protocol, nil
	case err != nil:
		return "", fmt.Errorf("look up the conversation of protocol %s: %w", protocol, err)
	}
	return id, nil
}

// readFile reads a whole file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return nil, fmt.Errorf("cannot %s the file: %w", pe.Op, pe.Err) // the caller names the file
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, errors.New("a directory, not a file")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the file is larger than %d MiB: split it into smaller files", MaxFileSize>>20)
	}
	return data, nil
}
